#ifndef NW_PRIVDROP_H
#define NW_PRIVDROP_H
#endif
