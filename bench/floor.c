/* The floor for one cacheman command: the least a program can do to answer it.
 *
 *   floor get STORE TABLE KEY         print the value of KEY (exit 1 on a miss)
 *   floor set STORE TABLE KEY VALUE   INSERT OR REPLACE KEY -> VALUE (synchronous=NORMAL)
 *
 * It opens the store, prepares the one statement, runs it and writes the value: no argument
 * parser, no schema or version check, no cache-name lookup (TABLE is given, e.g. cache_1), no
 * expiry test. Linked statically against Debian's libsqlite3.a, as bench/run builds it:
 *
 *   cc -O2 -static -o floor floor.c -lsqlite3 -lm
 *
 * The difference between cacheman and this program is what cacheman's start-up, argument
 * parsing and bookkeeping cost. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(sqlite3 *db, const char *what) {
    fprintf(stderr, "floor: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    return 3;
}

int main(int argc, char **argv) {
    const int is_get = argc == 5 && strcmp(argv[1], "get") == 0;
    const int is_set = argc == 6 && strcmp(argv[1], "set") == 0;
    if (!is_get && !is_set) {
        fprintf(stderr, "usage: floor get STORE TABLE KEY | floor set STORE TABLE KEY VALUE\n");
        return 2;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        return fail(db, "open");
    }
    sqlite3_busy_timeout(db, 5000);

    char sql[256];
    if (is_set) {
        if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
            return fail(db, "pragma");
        }
        snprintf(sql, sizeof sql,
                 "INSERT OR REPLACE INTO \"%s\"(key, expires, value) VALUES(?, NULL, ?)", argv[3]);
    } else {
        snprintf(sql, sizeof sql, "SELECT value FROM \"%s\" WHERE key = ?", argv[3]);
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        return fail(db, "prepare");
    }
    sqlite3_bind_text(stmt, 1, argv[4], -1, SQLITE_STATIC);
    if (is_set) {
        sqlite3_bind_blob(stmt, 2, argv[5], (int)strlen(argv[5]), SQLITE_STATIC);
    }
    int status = 0;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const void *value = sqlite3_column_blob(stmt, 0);
        const int size = sqlite3_column_bytes(stmt, 0);
        if (size > 0 && write(STDOUT_FILENO, value, (size_t)size) != size) {
            status = 3;
        }
    } else if (rc == SQLITE_DONE) {
        status = is_get ? 1 : 0;
    } else {
        status = fail(db, "step");
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return status;
}
