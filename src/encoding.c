#include "encoding.h"
