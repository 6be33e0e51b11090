#include "urlpath.h"
