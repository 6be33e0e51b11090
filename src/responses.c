#include "responses.h"
