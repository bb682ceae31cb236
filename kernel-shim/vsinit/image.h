// The bytes of vsinit (kernel-shim/vsinit/vsinit.c), compiled into vsshim from a source that
// kernel-shim/vsinit/embed.py generates at build time. helper_image() is the interface.
#pragma once

#include <cstddef>

namespace vs::shim::vsinit {

extern const unsigned char kImage[];
extern const std::size_t kImageSize;

}  // namespace vs::shim::vsinit
