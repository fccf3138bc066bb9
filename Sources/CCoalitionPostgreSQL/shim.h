#ifndef C_COALITION_POSTGRESQL_SHIM_H
#define C_COALITION_POSTGRESQL_SHIM_H

// libpq, PostgreSQL's official C client: the PostgreSQL store's one way to its server.
#include <libpq-fe.h>

#endif
