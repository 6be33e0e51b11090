#include "privdrop.h"
