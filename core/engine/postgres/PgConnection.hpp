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
#include <utility>
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
    // A bigint[] (for `= ANY($n::bigint[])`): one statement for any number of ids.
    static Param ids(const std::vector<std::int64_t>& values);
    static Param bytes(std::string_view data) {
        Param param;
        param.value = std::string(data);
        param.binary = true;
        return param;
    }
};

// A statement with its parameters, for PgConnection::pipeline.
struct Statement {
    std::string sql;
    std::vector<Param> params;
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
    enum class TransactionState { none, deferred, open };

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
    // Runs the statements in order in one round trip (libpq's pipeline mode), returning their
    // rows in that order. The first error throws StoreError; the statements after it are not
    // run (inside a transaction, which the error aborts, as with exec).
    std::vector<Rows> pipeline(const std::vector<Statement>& statements);
    // Runs statements without parameters or results (several may be separated by ';').
    void exec_script(const std::string& sql);
    // Runs one statement on its own, outside any transaction: before the transaction begun,
    // if any, has sent a statement (its BEGIN stays deferred). Throws std::logic_error when
    // the transaction has started on the server (transaction_started()).
    Rows exec_ahead(const std::string& sql, const std::vector<Param>& params);

    // --- transactions (PgTransaction) ---------------------------------------------------------
    // Begins a transaction with `begin_sql`, sent with the first statement run in it rather
    // than in a round trip of its own. At most one transaction at a time.
    void begin(const std::string& begin_sql);
    // Runs `statement` (no rows wanted) in the open transaction before the next statement, in
    // the same round trip (the commit's included); its error is that statement's. Deferred
    // statements are sent by themselves once they hold k_deferred_statements or
    // k_deferred_bytes of parameters, so that memory stays bounded.
    void defer(Statement statement);
    static constexpr std::size_t k_deferred_statements = 64;
    static constexpr std::size_t k_deferred_bytes = 4 << 20;
    // From now on a statement that fails for lock_timeout throws LockedError(`message`).
    void name_lock_timeouts(std::string message) { m_lock_timeout_message = std::move(message); }
    // Commits the transaction (nothing to send when no statement ran in it).
    void commit();
    // Runs the statements, then commits, in one round trip; returns their rows.
    std::vector<Rows> commit_after(const std::vector<Statement>& statements);
    // Rolls the transaction back; never throws (a lost connection rolls back on the server).
    void rollback() noexcept;
    // Whether a statement of the open transaction has reached the server.
    [[nodiscard]] bool transaction_started() const { return m_transaction == TransactionState::open; }
    // The server's clock as read by the statement of the open transaction that read it first
    // (remember_transaction_clock), or nullopt: one reading serves the whole transaction.
    [[nodiscard]] std::optional<double> transaction_clock() const { return m_transaction_clock; }
    void remember_transaction_clock(double now);

    // Whether the connection to the server is gone (the server ended it, or the network).
    [[nodiscard]] bool lost() const;

    // The SQLSTATE of the last error thrown by exec (empty when it was not the server's).
    [[nodiscard]] const std::string& last_sqlstate() const { return m_last_sqlstate; }

  private:
    [[noreturn]] void fail(pg_result* result, const std::string& what);
    // Runs one statement now, without what is deferred.
    Rows exec_one(const std::string& sql, const std::vector<Param>& params);
    // The statements to send before the next one (the BEGIN of a transaction that has not run
    // a statement yet, and those deferred), forgotten.
    std::vector<Statement> take_deferred();

    pg_conn* m_conn = nullptr;
    std::string m_name;
    std::string m_last_sqlstate;
    TransactionState m_transaction = TransactionState::none;
    std::vector<Statement> m_deferred;
    std::size_t m_deferred_bytes = 0;
    std::string m_lock_timeout_message;
    std::optional<double> m_transaction_clock;
};

// RAII transaction: BEGIN in the isolation level given (sent with its first statement); rolls
// back in the destructor unless committed, never throwing from it (a lost connection rolls
// back on the server by itself).
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
    // Runs the statements, then commits, in one round trip (PgConnection::commit_after).
    std::vector<Rows> commit_after(const std::vector<Statement>& statements);
    void rollback() noexcept;

  private:
    PgConnection& m_connection;
    bool m_open = true;
};

// How messages name the store of `conninfo` before a connection exists: user@host:port/dbname,
// with libpq's defaults (its environment variables, the unix socket) for what it leaves out.
std::string describe_conninfo(const std::string& conninfo);

} // namespace cacheman::postgres
