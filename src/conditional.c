#include "conditional.h"
