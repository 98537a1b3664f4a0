#include "base/Spool.hpp"

#include "base/Error.hpp"
#include "base/Posix.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace cacheman {

namespace {

int unlinked_file() {
    const char* dir = std::getenv("TMPDIR");
    const int fd = ::open(dir != nullptr && *dir != '\0' ? dir : "/tmp",
                          O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    return fd >= 0 ? fd : ::memfd_create("cacheman-spool", MFD_CLOEXEC);
}

void write_to_file(int fd, std::string_view bytes) {
    if (const int error = write_all(fd, bytes); error != 0) {
        throw StoreError(std::string("cannot write a temporary file: ") + std::strerror(error));
    }
}

} // namespace

Spool::Spool(std::size_t memory_limit) : m_memory_limit(memory_limit) {}

Spool::~Spool() {
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

void Spool::move_to_file() {
    m_fd = unlinked_file();
    if (m_fd < 0) {
        throw StoreError(std::string("cannot make a temporary file: ") + std::strerror(errno));
    }
    write_to_file(m_fd, m_memory);
    std::string().swap(m_memory);
}

void Spool::append(std::string_view bytes) {
    m_hasher.raw(bytes.data(), bytes.size());
    m_size += bytes.size();
    if (in_memory() && m_memory.size() + bytes.size() <= m_memory_limit) {
        m_memory.append(bytes);
        return;
    }
    if (in_memory()) {
        move_to_file();
    }
    write_to_file(m_fd, bytes);
}

void Spool::append_all(int fd, const std::string& what) {
    const int error = read_to_end(fd, [&](std::string_view chunk) { append(chunk); });
    if (error != 0) {
        throw UsageError("cannot read " + what + ": " + std::strerror(error));
    }
}

int Spool::file() {
    if (in_memory()) {
        move_to_file();
    }
    ::lseek(m_fd, 0, SEEK_SET);
    return m_fd;
}

void Spool::read(const std::function<void(std::string_view)>& sink) {
    if (in_memory()) {
        sink(m_memory);
        return;
    }
    if (const int error = read_to_end(file(), sink); error != 0) {
        throw StoreError(std::string("cannot read a temporary file: ") + std::strerror(error));
    }
}

} // namespace cacheman
