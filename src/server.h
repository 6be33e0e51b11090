#ifndef NW_SERVER_H
#define NW_SERVER_H
#endif
