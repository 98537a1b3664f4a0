// One connection to a PostgreSQL server (libpq), the only place of the PostgreSQL engine that
// calls libpq: statements with parameters, results read in binary form, transactions, and
// errors turned into StoreError naming the store as user@host:port/dbname (never a password).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace cacheman::postgres {

// A statement parameter: text (a number as digits too; nullopt is NULL), or bytes (bytea,
// sent in binary form so that any byte passes).
struct Param {
    std::optional<std::string> value;
    bool binary = false;

    Param() = default; // NULL
    Param(std::string_view text) : value(std::string(text)) {} // NOLINT: implicit by design
    Param(const std::string& text) : value(text) {}            // NOLINT
    Param(const char* text) : value(std::string(text)) {}      // NOLINT
    Param(std::int64_t number) : value(std::to_string(number)) {} // NOLINT
    Param(double number);                                          // NOLINT
    template <class T> Param(const std::optional<T>& maybe) {      // NOLINT
        if (maybe) {
            *this = Param(*maybe);
        }
    }
    static Param bytes(std::string_view data) {
        Param param;
        param.value = std::string(data);
        param.binary = true;
        return param;
    }
};

// The rows of a statement, in binary form: text and bytea columns are their bytes, integers
// and floats are decoded from network order.
class Rows {
  public:
    explicit Rows(pg_result* result);
    ~Rows();
    Rows(Rows&& other) noexcept;
    Rows& operator=(Rows&&) = delete;
    Rows(const Rows&) = delete;
    Rows& operator=(const Rows&) = delete;

    [[nodiscard]] int size() const;
    [[nodiscard]] bool empty() const { return size() == 0; }
    [[nodiscard]] bool null(int row, int column) const;
    // A text or bytea column's bytes (valid while the Rows live).
    [[nodiscard]] std::string_view bytes(int row, int column) const;
    [[nodiscard]] std::string text(int row, int column) const {
        return std::string(bytes(row, column));
    }
    // An int2, int4 or int8 column.
    [[nodiscard]] std::int64_t integer(int row, int column) const;
    // A float4 or float8 column.
    [[nodiscard]] double real(int row, int column) const;
    [[nodiscard]] bool boolean(int row, int column) const;
    [[nodiscard]] std::optional<std::string> optional_text(int row, int column) const;
    [[nodiscard]] std::optional<std::int64_t> optional_integer(int row, int column) const;
    [[nodiscard]] std::optional<double> optional_real(int row, int column) const;
    // The number of rows an INSERT, UPDATE or DELETE touched.
    [[nodiscard]] std::int64_t affected() const;

  private:
    pg_result* m_result;
};

class PgConnection {
  public:
    // Connects with libpq's connection string or URL `conninfo`. Throws StoreError (one line,
    // naming the store) when the server cannot be reached or refuses.
    explicit PgConnection(const std::string& conninfo);
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // user@host:port/dbname.
    [[nodiscard]] const std::string& name() const { return m_name; }

    // Runs one statement ($1, $2, ... for the parameters). Throws StoreError on any error.
    Rows exec(const std::string& sql, std::initializer_list<Param> params = {});
    Rows exec(const std::string& sql, const std::vector<Param>& params);
    // Runs statements without parameters or results (several may be separated by ';').
    void exec_script(const std::string& sql);

    // The SQLSTATE of the last error thrown by exec (empty when it was not the server's).
    [[nodiscard]] const std::string& last_sqlstate() const { return m_last_sqlstate; }

  private:
    [[noreturn]] void fail(pg_result* result, const std::string& what);

    pg_conn* m_conn = nullptr;
    std::string m_name;
    std::string m_last_sqlstate;
};

// RAII transaction: BEGIN in the isolation level given; rolls back in the destructor unless
// committed, never throwing from it (a lost connection rolls back on the server by itself).
class PgTransaction {
  public:
    enum class Kind {
        read,  // REPEATABLE READ, READ ONLY: one snapshot for every statement
        write, // READ COMMITTED, after the namespace's write lock (see PgEngine::write_lock)
    };
    PgTransaction(PgConnection& connection, Kind kind);
    ~PgTransaction();
    PgTransaction(const PgTransaction&) = delete;
    PgTransaction& operator=(const PgTransaction&) = delete;

    void commit();
    void rollback() noexcept;

  private:
    PgConnection& m_connection;
    bool m_open = true;
};

// How messages name the store of `conninfo` before a connection exists: user@host:port/dbname,
// with libpq's defaults (its environment variables, the unix socket) for what it leaves out.
std::string describe_conninfo(const std::string& conninfo);

} // namespace cacheman::postgres
