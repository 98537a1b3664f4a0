// RAII wrapper of one SQLite connection. The only place, with Statement and Transaction, that
// calls sqlite3_*. Errors become cacheman::StoreError (LockedError for SQLITE_BUSY/LOCKED).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

struct sqlite3;

namespace cacheman::sqlite {

class Database {
  public:
    enum class Mode { read_only, read_write };

    // Opens an existing database file; never creates one (the caller creates the file itself so
    // that it controls the mode bits). A symbolic link anywhere in `path` is refused
    // (SQLITE_OPEN_NOFOLLOW, for attached files too): give a path resolved by real_directory.
    // Throws StoreError when the file cannot be opened.
    Database(const std::string& path, Mode mode, int busy_timeout_ms);

    // Runs one or more SQL statements that return no rows.
    void exec(std::string_view sql);

    // The last error message of this connection, for error reports.
    [[nodiscard]] std::string last_error() const;
    [[nodiscard]] long long changes() const;
    [[nodiscard]] long long last_insert_rowid() const;
    [[nodiscard]] const std::string& path() const { return m_path; }
    [[nodiscard]] sqlite3* handle() const { return m_db.get(); }

    // Hands the blob in `column` of row `rowid` of `schema`.`table` to `sink` in pieces of at
    // most `piece` bytes (SQLite's incremental blob I/O: the whole value is never in memory).
    void read_blob(const std::string& schema, const std::string& table, const char* column,
                   long long rowid, std::size_t piece,
                   const std::function<void(std::string_view)>& sink) const;

    // Throws the exception that matches an SQLite result code (never returns for errors).
    void check(int rc, std::string_view what) const;

  private:
    struct Closer {
        void operator()(sqlite3* db) const noexcept;
    };
    std::unique_ptr<sqlite3, Closer> m_db;
    std::string m_path;
};

// require_safe (Posix.hpp) on a database file and on its -wal and -shm when they exist, which
// SQLite opens by itself: anyone who could write them could change what the store holds. Called
// before the database is opened and again after its first transaction, which may create them.
// `what` names the database ("store", "volatile store"). Throws StoreError.
void require_safe_database_files(const std::string& path, std::string_view what);

} // namespace cacheman::sqlite
