#include "engine/sqlite/Statement.hpp"

#include "engine/sqlite/Database.hpp"

#include <sqlite3.h>

namespace cacheman::sqlite {

Statement::Statement(Database& db, std::string_view sql) : m_db(&db) {
    const int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &m_stmt, nullptr);
    db.check(rc, "prepare");
}

Statement::~Statement() {
    sqlite3_finalize(m_stmt);
}

Statement::Statement(Statement&& other) noexcept : m_db(other.m_db), m_stmt(other.m_stmt) {
    other.m_stmt = nullptr;
}

void Statement::bind(int index, std::string_view text) {
    m_db->check(
        sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8),
        "bind");
}

void Statement::bind_blob(int index, std::string_view bytes) {
    // SQLite binds a null pointer as NULL: an empty view is an empty blob all the same.
    const char* data = bytes.data() != nullptr ? bytes.data() : "";
    m_db->check(sqlite3_bind_blob64(m_stmt, index, data, bytes.size(), SQLITE_STATIC),
                "bind");
}

void Statement::bind(int index, std::int64_t value) {
    m_db->check(sqlite3_bind_int64(m_stmt, index, value), "bind");
}

void Statement::bind(int index, double value) {
    m_db->check(sqlite3_bind_double(m_stmt, index, value), "bind");
}

void Statement::bind(int index, std::optional<double> value) {
    if (value) {
        bind(index, *value);
    } else {
        bind_null(index);
    }
}

void Statement::bind_null(int index) {
    m_db->check(sqlite3_bind_null(m_stmt, index), "bind");
}

bool Statement::step() {
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    sqlite3_reset(m_stmt);
    m_db->check(rc, "step");
    return false;
}

void Statement::run() {
    step();
    reset();
}

void Statement::reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

bool Statement::is_null(int column) const {
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

std::int64_t Statement::column_int(int column) const {
    return sqlite3_column_int64(m_stmt, column);
}

double Statement::column_double(int column) const {
    return sqlite3_column_double(m_stmt, column);
}

std::string_view Statement::column_text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, column));
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, column));
    return data ? std::string_view(data, size) : std::string_view();
}

std::string_view Statement::column_blob(int column) const {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(m_stmt, column));
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, column));
    return data ? std::string_view(data, size) : std::string_view();
}

} // namespace cacheman::sqlite
