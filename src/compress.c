#include "compress.h"
