#include "mime.h"
