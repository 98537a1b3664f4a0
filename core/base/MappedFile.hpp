// A file read once from its start, mapped into memory: the pages read are given back as reading
// moves on (release), so that memory stays bounded whatever the file's size.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cacheman {

class MappedFile {
  public:
    // Maps `fd` (which may be closed afterwards). Throws UsageError naming `name` when it
    // cannot be read.
    MappedFile(int fd, const std::string& name);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    [[nodiscard]] std::string_view data() const {
        return {static_cast<const char*>(m_map), m_size};
    }
    // The bytes before `read_up_to` (a pointer into data()) are not read again, unless a
    // later call names an earlier place.
    void release(const char* read_up_to);

  private:
    void* m_map = nullptr;
    std::size_t m_size = 0;
    std::size_t m_released = 0;
};

} // namespace cacheman
