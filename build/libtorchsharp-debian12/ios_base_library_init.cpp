// std::ios_base_library_init() for hosts whose libstdc++ predates GCC 13 (GLIBCXX_3.4.32).
// GCC 13 calls it from every translation unit that includes <iostream>, to make sure the standard
// streams exist; older libstdc++ does the same through a static std::ios_base::Init per unit.
#include <ios>

namespace std
{
    void ios_base_library_init()
    {
        static ios_base::Init init;
    }
}
