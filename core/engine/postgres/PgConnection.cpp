#include "engine/postgres/PgConnection.hpp"

#include "base/Error.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <libpq-fe.h>
#include <memory>
#include <stdexcept>
#include <utility>

namespace cacheman::postgres {

namespace {

std::string first_line(const char* message) {
    std::string text = message == nullptr ? "" : message;
    const auto end = text.find('\n');
    if (end != std::string::npos) {
        text.resize(end);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

std::string or_default(const char* value, const std::string& fallback) {
    return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

// user@host:port/dbname from the values libpq resolved (a socket directory is shown as is).
std::string store_name(const std::string& user, const std::string& host, const std::string& port,
                       const std::string& dbname) {
    return user + "@" + host + ":" + port + "/" + dbname;
}

std::uint64_t big_endian(const char* data, int length) {
    std::uint64_t value = 0;
    for (int i = 0; i < length; ++i) {
        value = (value << 8) | static_cast<unsigned char>(data[i]);
    }
    return value;
}

} // namespace

Param::Param(double number) {
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", number);
    value = text;
}

Param Param::ids(const std::vector<std::int64_t>& values) {
    std::string out = "{";
    for (const auto id : values) {
        if (out.size() > 1) {
            out += ',';
        }
        out += std::to_string(id);
    }
    return Param(out + "}");
}

std::string describe_conninfo(const std::string& conninfo) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(conninfo.c_str(), &error), &PQconninfoFree);
    PQfreemem(error);
    std::string user;
    std::string host;
    std::string port;
    std::string dbname;
    if (options) {
        for (const PQconninfoOption* option = options.get(); option->keyword != nullptr;
             ++option) {
            const std::string keyword = option->keyword;
            const char* value = option->val;
            if (keyword == "user") {
                user = or_default(value, "");
            } else if (keyword == "host") {
                host = or_default(value, "");
            } else if (keyword == "port") {
                port = or_default(value, "");
            } else if (keyword == "dbname") {
                dbname = or_default(value, "");
            }
        }
    }
    // The defaults libpq applies (PQconndefaults reads the same environment).
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> defaults(PQconndefaults(),
                                                                           &PQconninfoFree);
    const auto fallback = [&](const char* keyword, const std::string& otherwise) {
        if (defaults) {
            for (const PQconninfoOption* option = defaults.get(); option->keyword != nullptr;
                 ++option) {
                if (std::strcmp(option->keyword, keyword) == 0 && option->val != nullptr &&
                    *option->val != '\0') {
                    return std::string(option->val);
                }
            }
        }
        return otherwise;
    };
    if (user.empty()) {
        user = fallback("user", "?");
    }
    if (host.empty()) {
        host = fallback("host", "/var/run/postgresql");
    }
    if (port.empty()) {
        port = fallback("port", "5432");
    }
    if (dbname.empty()) {
        dbname = fallback("dbname", user);
    }
    return store_name(user, host, port, dbname);
}

// --- Rows ----------------------------------------------------------------------------------------

Rows::Rows(pg_result* result) : m_result(result) {}
Rows::~Rows() {
    if (m_result != nullptr) {
        PQclear(m_result);
    }
}
Rows::Rows(Rows&& other) noexcept : m_result(other.m_result) { other.m_result = nullptr; }

int Rows::size() const { return PQntuples(m_result); }
bool Rows::null(int row, int column) const { return PQgetisnull(m_result, row, column) != 0; }

std::string_view Rows::bytes(int row, int column) const {
    return {PQgetvalue(m_result, row, column),
            static_cast<std::size_t>(PQgetlength(m_result, row, column))};
}

std::int64_t Rows::integer(int row, int column) const {
    const int length = PQgetlength(m_result, row, column);
    const std::uint64_t raw = big_endian(PQgetvalue(m_result, row, column), length);
    switch (length) {
    case 2:
        return static_cast<std::int16_t>(raw);
    case 4:
        return static_cast<std::int32_t>(raw);
    case 8:
        return static_cast<std::int64_t>(raw);
    default:
        throw StoreError("unexpected integer of " + std::to_string(length) + " bytes from the server");
    }
}

double Rows::real(int row, int column) const {
    const int length = PQgetlength(m_result, row, column);
    const std::uint64_t raw = big_endian(PQgetvalue(m_result, row, column), length);
    if (length == 8) {
        double value = 0;
        std::memcpy(&value, &raw, sizeof value);
        return value;
    }
    if (length == 4) {
        const auto narrow = static_cast<std::uint32_t>(raw);
        float value = 0;
        std::memcpy(&value, &narrow, sizeof value);
        return value;
    }
    throw StoreError("unexpected float of " + std::to_string(length) + " bytes from the server");
}

bool Rows::boolean(int row, int column) const {
    return PQgetlength(m_result, row, column) == 1 && PQgetvalue(m_result, row, column)[0] != 0;
}

std::optional<std::string> Rows::optional_text(int row, int column) const {
    return null(row, column) ? std::nullopt : std::optional<std::string>(text(row, column));
}
std::optional<std::int64_t> Rows::optional_integer(int row, int column) const {
    return null(row, column) ? std::nullopt : std::optional<std::int64_t>(integer(row, column));
}
std::optional<double> Rows::optional_real(int row, int column) const {
    return null(row, column) ? std::nullopt : std::optional<double>(real(row, column));
}

std::int64_t Rows::affected() const {
    const char* tuples = PQcmdTuples(m_result);
    return tuples == nullptr || *tuples == '\0' ? 0 : std::stoll(tuples);
}

// --- PgConnection --------------------------------------------------------------------------------

namespace {

// The value the connection string gives `keyword`, or "" (what libpq would take from its
// environment then).
std::string conninfo_value(const std::string& conninfo, const char* keyword) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(conninfo.c_str(), &error), &PQconninfoFree);
    PQfreemem(error);
    for (const PQconninfoOption* option = options.get(); option && option->keyword; ++option) {
        if (std::strcmp(option->keyword, keyword) == 0 && option->val != nullptr) {
            return option->val;
        }
    }
    return {};
}

// Whether `host` is a loopback address (127.0.0.0/8 or ::1), not a name that looks like one.
bool is_loopback_address(const std::string& host) {
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// Whether every host of a host list is this machine: a unix socket directory, localhost or a
// loopback address (nothing to encrypt, no server identity to verify).
bool local_hosts(const std::string& hosts) {
    if (hosts.empty()) {
        return true; // libpq's default: the unix socket
    }
    std::size_t start = 0;
    while (start <= hosts.size()) {
        const auto end = std::min(hosts.find(',', start), hosts.size());
        const std::string host = hosts.substr(start, end - start);
        if (!(host.empty() || host.front() == '/' || host.front() == '@' || host == "localhost" ||
              is_loopback_address(host))) {
            return false;
        }
        start = end + 1;
    }
    return true;
}

// libpq's default sslmode, `prefer`, falls back to plain text and verifies nobody: for a host
// that is not this machine, the default here is `verify-full` (given before the URL, so that
// the URL's own sslmode, $PGSSLMODE or a service file still decide).
bool needs_default_sslmode(const std::string& conninfo) {
    if (!conninfo_value(conninfo, "sslmode").empty() || std::getenv("PGSSLMODE") != nullptr ||
        !conninfo_value(conninfo, "service").empty() || std::getenv("PGSERVICE") != nullptr) {
        return false;
    }
    std::string hosts = conninfo_value(conninfo, "host");
    if (hosts.empty()) {
        const char* from_env = std::getenv("PGHOST");
        hosts = from_env == nullptr ? "" : from_env;
    }
    if (hosts.empty() && !conninfo_value(conninfo, "hostaddr").empty()) {
        hosts = conninfo_value(conninfo, "hostaddr");
    }
    return !local_hosts(hosts);
}

} // namespace

PgConnection::PgConnection(const std::string& conninfo) {
    {
        // libpq's message for a URL it cannot parse quotes the URL: never shown.
        char* error = nullptr;
        PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
        PQfreemem(error);
        if (parsed == nullptr) {
            throw UsageError("the store URL is malformed (libpq cannot parse it)");
        }
        PQconninfoFree(parsed);
    }
    // Defaults given before the URL, so that the URL still decides: a dead peer is noticed in
    // about a minute (keepalives), rather than after the kernel's two hours, so that a lock
    // it held does not outlive it; and verify-full for a host that is not local.
    std::vector<const char*> keywords{"application_name", "keepalives", "keepalives_idle",
                                      "keepalives_interval", "keepalives_count"};
    std::vector<const char*> values{"cacheman", "1", "30", "10", "3"};
    if (needs_default_sslmode(conninfo)) {
        keywords.push_back("sslmode");
        values.push_back("verify-full");
    }
    keywords.push_back("dbname");
    values.push_back(conninfo.c_str());
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    m_conn = PQconnectdbParams(keywords.data(), values.data(), 1);
    if (m_conn == nullptr || PQstatus(m_conn) != CONNECTION_OK) {
        const std::string why = m_conn == nullptr ? "out of memory" : first_line(PQerrorMessage(m_conn));
        if (m_conn != nullptr) {
            PQfinish(m_conn);
            m_conn = nullptr;
        }
        throw StoreError("cannot connect to store " + describe_conninfo(conninfo) + ": " + why);
    }
    const char* host = PQhost(m_conn);
    m_name = store_name(or_default(PQuser(m_conn), "?"), or_default(host, "?"),
                        or_default(PQport(m_conn), "5432"), or_default(PQdb(m_conn), "?"));
    // Warnings and notices are not the user's business: a command prints what it was asked.
    PQsetNoticeProcessor(m_conn, [](void*, const char*) {}, nullptr);
}

PgConnection::~PgConnection() {
    if (m_conn != nullptr) {
        PQfinish(m_conn);
    }
}

bool PgConnection::lost() const { return PQstatus(m_conn) != CONNECTION_OK; }

void PgConnection::fail(pg_result* result, const std::string& what) {
    std::string message;
    m_last_sqlstate.clear();
    if (result != nullptr) {
        const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
        m_last_sqlstate = state == nullptr ? "" : state;
        message = first_line(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
        PQclear(result);
    }
    if (message.empty()) {
        message = first_line(PQerrorMessage(m_conn));
    }
    if (PQstatus(m_conn) != CONNECTION_OK) {
        message = "connection lost: " + message;
    } else if (m_last_sqlstate == "55P03" && !m_lock_timeout_message.empty()) {
        throw LockedError(m_lock_timeout_message); // lock_not_available
    }
    throw StoreError("store " + m_name + ": " + what + message);
}

Rows PgConnection::exec(const std::string& sql, std::initializer_list<Param> params) {
    return exec(sql, std::vector<Param>(params));
}

namespace {

// libpq's arrays of the parameters of one statement (valid while `params` lives).
struct ParamArrays {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;

    explicit ParamArrays(const std::vector<Param>& params) {
        values.reserve(params.size());
        for (const auto& param : params) {
            values.push_back(param.value ? param.value->data() : nullptr);
            lengths.push_back(param.value ? static_cast<int>(param.value->size()) : 0);
            formats.push_back(param.binary ? 1 : 0);
        }
    }
};

bool succeeded(const pg_result* result) {
    const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    return status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
}

} // namespace

Rows PgConnection::exec(const std::string& sql, const std::vector<Param>& params) {
    if (!m_deferred.empty()) {
        std::vector<Rows> rows = pipeline({Statement{sql, params}});
        return std::move(rows.back());
    }
    return exec_one(sql, params);
}

Rows PgConnection::exec_ahead(const std::string& sql, const std::vector<Param>& params) {
    if (transaction_started()) {
        throw std::logic_error("exec_ahead inside a transaction that has started");
    }
    return exec_one(sql, params);
}

Rows PgConnection::exec_one(const std::string& sql, const std::vector<Param>& params) {
    const ParamArrays arrays(params);
    pg_result* result = PQexecParams(m_conn, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                     arrays.values.data(), arrays.lengths.data(),
                                     arrays.formats.data(), 1);
    if (!succeeded(result)) {
        fail(result, "");
    }
    return Rows(result);
}

std::vector<Rows> PgConnection::pipeline(const std::vector<Statement>& statements) {
    const std::vector<Statement> deferred = take_deferred();
    std::vector<const Statement*> all;
    for (const auto& statement : deferred) {
        all.push_back(&statement);
    }
    for (const auto& statement : statements) {
        all.push_back(&statement);
    }
    if (PQenterPipelineMode(m_conn) != 1) {
        fail(nullptr, "");
    }
    bool sent = true;
    for (const Statement* statement : all) {
        const ParamArrays arrays(statement->params);
        sent = sent && PQsendQueryParams(m_conn, statement->sql.c_str(),
                                         static_cast<int>(statement->params.size()), nullptr,
                                         arrays.values.data(), arrays.lengths.data(),
                                         arrays.formats.data(), 1) == 1;
    }
    sent = sent && PQpipelineSync(m_conn) == 1;
    // Each statement's result is followed by a null one; an error makes the statements after
    // it PGRES_PIPELINE_ABORTED, up to the sync's PGRES_PIPELINE_SYNC.
    std::vector<Rows> rows;
    pg_result* first_error = nullptr;
    for (std::size_t i = 0; sent && i < all.size() && PQstatus(m_conn) == CONNECTION_OK; ++i) {
        pg_result* result = PQgetResult(m_conn);
        const bool ended = result == nullptr;
        if (succeeded(result) && i >= deferred.size()) {
            rows.emplace_back(result);
        } else if (!succeeded(result) && first_error == nullptr &&
                   (ended || PQresultStatus(result) != PGRES_PIPELINE_ABORTED)) {
            first_error = result;
        } else if (!ended) {
            PQclear(result);
        }
        while (!ended && (result = PQgetResult(m_conn)) != nullptr) {
            PQclear(result);
        }
    }
    while (PQstatus(m_conn) == CONNECTION_OK && PQexitPipelineMode(m_conn) != 1) {
        pg_result* rest = PQgetResult(m_conn); // the sync, and anything left before it
        if (rest == nullptr && PQexitPipelineMode(m_conn) != 1) {
            break;
        }
        PQclear(rest);
    }
    if (first_error != nullptr || !sent || rows.size() != statements.size()) {
        fail(first_error, "");
    }
    return rows;
}

void PgConnection::exec_script(const std::string& sql) {
    if (!m_deferred.empty()) {
        pipeline({}); // (a script cannot carry their parameters)
    }
    pg_result* result = PQexec(m_conn, sql.c_str());
    if (!succeeded(result)) {
        fail(result, "");
    }
    PQclear(result);
}

// --- transactions -------------------------------------------------------------------------------

std::vector<Statement> PgConnection::take_deferred() {
    if (m_transaction == TransactionState::deferred) {
        m_transaction = TransactionState::open;
    }
    m_deferred_bytes = 0;
    return std::exchange(m_deferred, {});
}

void PgConnection::begin(const std::string& begin_sql) {
    m_deferred.assign(1, Statement{begin_sql, {}});
    m_deferred_bytes = 0;
    m_transaction = TransactionState::deferred;
    m_transaction_clock.reset();
}

void PgConnection::defer(Statement statement) {
    for (const auto& param : statement.params) {
        m_deferred_bytes += param.value ? param.value->size() : 0;
    }
    m_deferred.push_back(std::move(statement));
    if (m_deferred.size() >= k_deferred_statements || m_deferred_bytes >= k_deferred_bytes) {
        pipeline({});
    }
}

void PgConnection::commit() {
    if (m_transaction == TransactionState::none) {
        return;
    }
    if (m_transaction == TransactionState::deferred && m_deferred.size() == 1) {
        // Only its BEGIN waits: nothing reached the server, nothing to commit.
        m_transaction = TransactionState::none;
        m_deferred.clear();
        m_transaction_clock.reset();
        return;
    }
    commit_after({});
}

std::vector<Rows> PgConnection::commit_after(const std::vector<Statement>& statements) {
    std::vector<Statement> with_commit = statements;
    with_commit.push_back(Statement{"COMMIT", {}});
    try {
        std::vector<Rows> rows = pipeline(with_commit);
        m_transaction = TransactionState::none;
        m_transaction_clock.reset();
        rows.pop_back();
        return rows;
    } catch (...) {
        rollback(); // an error before the COMMIT left the transaction open, and aborted
        throw;
    }
}

void PgConnection::rollback() noexcept {
    const bool ran = m_transaction == TransactionState::open;
    m_transaction = TransactionState::none;
    m_deferred.clear();
    m_deferred_bytes = 0;
    m_transaction_clock.reset();
    if (!ran) {
        return;
    }
    try {
        exec_script("ROLLBACK");
    } catch (...) { // NOLINT(bugprone-empty-catch): the server rolls back a lost session itself
    }
}

void PgConnection::remember_transaction_clock(double now) {
    if (m_transaction != TransactionState::none) {
        m_transaction_clock = now;
    }
}

PgTransaction::PgTransaction(PgConnection& connection, Kind kind) : m_connection(connection) {
    m_connection.begin(kind == Kind::read ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                                          : "BEGIN ISOLATION LEVEL READ COMMITTED");
}

PgTransaction::~PgTransaction() { rollback(); }

void PgTransaction::commit() {
    m_open = false;
    m_connection.commit();
}

std::vector<Rows> PgTransaction::commit_after(const std::vector<Statement>& statements) {
    std::vector<Rows> rows = m_connection.commit_after(statements);
    m_open = false;
    return rows;
}

void PgTransaction::rollback() noexcept {
    if (!m_open) {
        return;
    }
    m_open = false;
    m_connection.rollback();
}

} // namespace cacheman::postgres
