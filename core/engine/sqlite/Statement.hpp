// RAII prepared statement. Binding indexes are 1-based, column indexes 0-based, as in SQLite.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3_stmt;

namespace cacheman::sqlite {

class Database;

class Statement {
  public:
    Statement(Database& db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;

    void bind(int index, std::string_view text);
    void bind_blob(int index, std::string_view bytes);
    void bind(int index, std::int64_t value);
    void bind(int index, double value);
    void bind(int index, std::optional<double> value);
    void bind_null(int index);

    // Advances; true while a row is available. Throws StoreError/LockedError on failure.
    bool step();
    // Steps a statement that returns no rows, then resets it for reuse.
    void run();
    // Resets the statement and clears its bindings so it can be reused.
    void reset();

    [[nodiscard]] bool is_null(int column) const;
    [[nodiscard]] std::int64_t column_int(int column) const;
    [[nodiscard]] double column_double(int column) const;
    // The column's bytes; valid until the next step/reset.
    [[nodiscard]] std::string_view column_text(int column) const;
    [[nodiscard]] std::string_view column_blob(int column) const;

  private:
    Database* m_db;
    sqlite3_stmt* m_stmt = nullptr;
};

} // namespace cacheman::sqlite
