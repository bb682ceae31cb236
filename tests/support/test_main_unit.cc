// main() for the unit tests: no root, no kernel state.
#include <gtest/gtest.h>

#include "tests/support/skip_listener.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto* skips = new vs::test::SkipListener;  // owned by gtest
  ::testing::UnitTest::GetInstance()->listeners().Append(skips);
  int rc = RUN_ALL_TESTS();
  if (rc == 0 && skips->all_skipped()) return 77;
  return rc;
}
