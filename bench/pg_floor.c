/* The floor for one cacheman command on a PostgreSQL store: the least a libpq program can do.
 *
 *   pg_floor get URL CACHE_ID KEY         print the value of KEY (exit 1 on a miss)
 *   pg_floor set URL CACHE_ID KEY VALUE   INSERT .. ON CONFLICT DO UPDATE KEY -> VALUE
 *
 * It connects with the URL cacheman is given, runs the one statement on cacheman's table
 * (cacheman.entries, by the cache's id) with PQexecParams, writes the value and exits: no
 * argument parser, no schema or version check, no namespace or cache-name lookup (CACHE_ID is
 * given), no expiry test, no counting, no transaction of its own (the statement autocommits).
 * Dynamically linked with Debian's libpq, as cacheman-postgresql is; bench/run builds it:
 *
 *   cc -O2 -o pg_floor pg_floor.c -lpq -I/usr/include/postgresql
 *
 * The difference between cacheman and this program is what cacheman's exec of
 * cacheman-postgresql, start-up and bookkeeping (round trips included) cost. */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(PGconn *conn, const char *what) {
    fprintf(stderr, "pg_floor: %s: %s", what, conn ? PQerrorMessage(conn) : "out of memory\n");
    PQfinish(conn);
    return 3;
}

int main(int argc, char **argv) {
    const int is_get = argc == 5 && strcmp(argv[1], "get") == 0;
    const int is_set = argc == 6 && strcmp(argv[1], "set") == 0;
    if (!is_get && !is_set) {
        fprintf(stderr, "usage: pg_floor get URL CACHE_ID KEY | pg_floor set URL CACHE_ID KEY VALUE\n");
        return 2;
    }
    PGconn *conn = PQconnectdb(argv[2]);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        return fail(conn, "connect");
    }
    PGresult *result;
    if (is_get) {
        const char *values[] = {argv[3], argv[4]};
        /* The value as binary (bytea's raw bytes), the last argument: resultFormat 1. */
        result = PQexecParams(conn,
                              "SELECT value FROM cacheman.entries WHERE cache_id = $1::bigint "
                              "AND key = $2",
                              2, NULL, values, NULL, NULL, 1);
    } else {
        const char *values[] = {argv[3], argv[4], argv[5]};
        const int lengths[] = {0, 0, (int)strlen(argv[5])};
        const int formats[] = {0, 0, 1}; /* the value as binary bytea */
        result = PQexecParams(conn,
                              "INSERT INTO cacheman.entries(cache_id, key, expires, used, value) "
                              "VALUES ($1::bigint, $2, NULL, NULL, $3::bytea) ON CONFLICT "
                              "(cache_id, key) DO UPDATE SET expires = NULL, value = EXCLUDED.value",
                              3, NULL, values, lengths, formats, 0);
    }
    int status = 0;
    const ExecStatusType rc = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (rc == PGRES_TUPLES_OK) {
        if (PQntuples(result) == 0) {
            status = 1;
        } else {
            const int size = PQgetlength(result, 0, 0);
            if (size > 0 && write(STDOUT_FILENO, PQgetvalue(result, 0, 0), (size_t)size) != size) {
                status = 3;
            }
        }
    } else if (rc != PGRES_COMMAND_OK) {
        PQclear(result);
        return fail(conn, "statement");
    }
    PQclear(result);
    PQfinish(conn);
    return status;
}
