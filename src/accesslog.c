#include "accesslog.h"
