#ifndef NW_ACCESSLOG_H
#define NW_ACCESSLOG_H
#endif
