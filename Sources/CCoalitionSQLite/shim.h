#ifndef C_COALITION_SQLITE_SHIM_H
#define C_COALITION_SQLITE_SHIM_H

#include <sqlite3.h>

#endif
