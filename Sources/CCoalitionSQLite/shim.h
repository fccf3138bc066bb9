#ifndef C_COALITION_SQLITE_SHIM_H
#define C_COALITION_SQLITE_SHIM_H

#include <sqlite3.h>

/// Turns off SQLite's memory statistics, which take a global mutex on every allocation and
/// free (about 6% of the store's writer thread on a 10M-record file). Coalition reads no
/// statistics. `sqlite3_config` is variadic, which Swift cannot call, so it is called here;
/// it must run before SQLite initializes.
static inline int coalition_sqlite3_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#endif
