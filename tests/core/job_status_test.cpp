#include "core/job_status.hpp"

#include <gtest/gtest.h>

namespace imagefactory {
namespace {

TEST(JobStatusTest, DescribesStateMachineAsPythonDict) {
    EXPECT_EQ(describeJobStateMachine(),
              "{'NEW': ({'PENDING': ('build_image', 'push_image')}, {'FAILED': ('build_image', "
              "'push_image')}), 'PENDING': ({'BUILDING': '_auto_'}, {'PUSHING': '_auto_'}, "
              "{'FAILED': '_auto_'}), 'BUILDING': ({'FINISHING': '_auto_'}, {'FAILED': "
              "'_auto_'}), 'PUSHING': ({'FINISHING': '_auto_'}, {'FAILED': '_auto_'}), "
              "'FINISHING': ({'COMPLETED': '_auto_'}, {'FAILED': '_auto_'}), 'COMPLETED': (), "
              "'FAILED': ()}");
}

}  // namespace
}  // namespace imagefactory
