#ifndef NW_RESPONSES_H
#define NW_RESPONSES_H
#endif
