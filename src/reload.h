#ifndef NW_RELOAD_H
#define NW_RELOAD_H
#endif
