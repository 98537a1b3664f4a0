#include "engine/sqlite/Database.hpp"

#include "base/Error.hpp"
#include "base/Posix.hpp"

#include <algorithm>
#include <sqlite3.h>

namespace cacheman::sqlite {

void Database::Closer::operator()(sqlite3* db) const noexcept {
    sqlite3_close_v2(db);
}

Database::Database(const std::string& path, Mode mode, int busy_timeout_ms) : m_path(path) {
    sqlite3* raw = nullptr;
    const int flags = (mode == Mode::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    m_db.reset(raw);
    if (rc != SQLITE_OK) {
        throw StoreError(
            "cannot open store: " + std::string(raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)) +
            " (" + path + ")");
    }
    sqlite3_busy_timeout(raw, busy_timeout_ms);
    // Keep the -wal and -shm files between commands: creating and unlinking them on every
    // invocation costs more system time than the query (each command is a fresh process).
    int persist = 1;
    sqlite3_file_control(raw, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    // ...but empty the WAL when the last connection closes, so the next command's recovery
    // of the WAL index reads nothing.
    sqlite3_exec(raw, "PRAGMA journal_size_limit = 0", nullptr, nullptr, nullptr);
}

void Database::exec(std::string_view sql) {
    const std::string text(sql);
    check(sqlite3_exec(m_db.get(), text.c_str(), nullptr, nullptr, nullptr), "execute");
}

std::string Database::last_error() const {
    return sqlite3_errmsg(m_db.get());
}

long long Database::changes() const {
    return sqlite3_changes64(m_db.get());
}

long long Database::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(m_db.get());
}

void Database::check(int rc, std::string_view what) const {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) {
        return;
    }
    const int primary = rc & 0xff;
    std::string message = std::string(what) + ": " + last_error() + " (" + m_path + ")";
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        throw LockedError("store is locked by another process beyond the busy timeout: " + message);
    }
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
        throw StoreError("not a cacheman store, or damaged: " + message);
    }
    throw StoreError(message);
}

void require_safe_database_files(const std::string& path, std::string_view what) {
    const std::string name(what);
    require_safe_path(path, FileType::regular, name + " file");
    require_safe_path(path + "-wal", FileType::regular, name + " -wal file", true);
    require_safe_path(path + "-shm", FileType::regular, name + " -shm file", true);
}

void Database::read_blob(const std::string& schema, const std::string& table, const char* column,
                         long long rowid, std::size_t piece,
                         const std::function<void(std::string_view)>& sink) const {
    sqlite3_blob* blob = nullptr;
    check(sqlite3_blob_open(m_db.get(), schema.c_str(), table.c_str(), column, rowid, 0, &blob),
          "blob open");
    struct Close {
        sqlite3_blob* blob;
        ~Close() { sqlite3_blob_close(blob); }
    } close{blob};
    const int size = sqlite3_blob_bytes(blob);
    std::string buffer(std::min<std::size_t>(piece, static_cast<std::size_t>(size)), '\0');
    for (int offset = 0; offset < size;) {
        const int n = std::min(static_cast<int>(buffer.size()), size - offset);
        check(sqlite3_blob_read(blob, buffer.data(), n, offset), "blob read");
        sink(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
        offset += n;
    }
}

} // namespace cacheman::sqlite
