#include "base/MappedFile.hpp"

#include "base/Error.hpp"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cacheman {

MappedFile::MappedFile(int fd, const std::string& name) {
    struct stat info {};
    if (fstat(fd, &info) != 0) {
        throw UsageError(std::string("cannot read input: ") + std::strerror(errno) + " (" + name +
                         ")");
    }
    m_size = static_cast<std::size_t>(info.st_size);
    if (m_size == 0) {
        return;
    }
    m_map = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m_map == MAP_FAILED) {
        m_map = nullptr;
        m_size = 0;
        throw UsageError(std::string("cannot read input: ") + std::strerror(errno) + " (" + name +
                         ")");
    }
    (void)::madvise(m_map, m_size, MADV_SEQUENTIAL);
}

MappedFile::~MappedFile() {
    if (m_map != nullptr) {
        ::munmap(m_map, m_size);
    }
}

void MappedFile::release(const char* read_up_to) {
    if (m_map == nullptr) {
        return;
    }
    static const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const auto offset = static_cast<std::size_t>(read_up_to - static_cast<const char*>(m_map));
    const std::size_t boundary = offset / page * page;
    if (boundary < m_released) {
        m_released = 0; // read again from an earlier place (the lines were counted first)
    }
    if (boundary == m_released) {
        return;
    }
    (void)::madvise(static_cast<char*>(m_map) + m_released, boundary - m_released,
                    MADV_DONTNEED);
    m_released = boundary;
}

} // namespace cacheman
