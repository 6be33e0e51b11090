#include "xdp_client.h"
