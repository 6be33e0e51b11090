#ifndef NW_XDP_CLIENT_H
#define NW_XDP_CLIENT_H
#endif
