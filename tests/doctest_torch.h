// doctest for tests that include LibTorch. Any ATen header pulls in
// c10/util/Logging.h, which defines its own CHECK (a fatal glog-style
// check); included after doctest it silently replaces doctest's CHECK, so a
// failing CHECK aborts the test binary instead of being reported, and passing
// ones are not counted. Including c10's header first and doctest after it
// keeps doctest's CHECK whatever the test includes next (c10's header is
// include-guarded and will not define it again).
#pragma once

#include <c10/util/Logging.h>
#undef CHECK
#include <doctest/doctest.h>
