// RAII wrapper of one SQLite connection. The only place, with Statement and Transaction, that
// calls sqlite3_*. Errors become cacheman::StoreError (LockedError for SQLITE_BUSY/LOCKED).
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct sqlite3;

namespace cacheman::sqlite {

class Database {
  public:
    enum class Mode { read_only, read_write };

    // Opens an existing database file; never creates one (the caller creates the file itself so
    // that it controls the mode bits). Throws StoreError when the file cannot be opened.
    Database(const std::string& path, Mode mode, int busy_timeout_ms);

    // Runs one or more SQL statements that return no rows.
    void exec(std::string_view sql);

    // The last error message of this connection, for error reports.
    [[nodiscard]] std::string last_error() const;
    [[nodiscard]] long long changes() const;
    [[nodiscard]] long long last_insert_rowid() const;
    [[nodiscard]] const std::string& path() const { return m_path; }
    [[nodiscard]] sqlite3* handle() const { return m_db.get(); }

    // Throws the exception that matches an SQLite result code (never returns for errors).
    void check(int rc, std::string_view what) const;

  private:
    struct Closer {
        void operator()(sqlite3* db) const noexcept;
    };
    std::unique_ptr<sqlite3, Closer> m_db;
    std::string m_path;
};

} // namespace cacheman::sqlite
