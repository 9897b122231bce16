#include "build/base_image_cache.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

namespace imagefactory {
namespace {

namespace fs = std::filesystem;

class BaseImageCacheTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("if-cache-" + std::to_string(getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    static Result<BaseImageInfo> fakeBuild(const fs::path& disk) {
        std::ofstream(disk) << "disk";
        BaseImageInfo info;
        info.layout = *computeDiskLayout(2ull << 30, 0);
        info.root_fs_uuid = "uuid";
        info.esp_volume_id = "abcd1234";
        info.codename = "bookworm";
        return info;
    }

    fs::path dir_;
};

TEST_F(BaseImageCacheTest, KeyIsStableAndSecretBound) {
    BaseImageCache cache(dir_ / "base_images");
    auto a = cache.keyFor("template");
    auto b = cache.keyFor("template");
    auto c = cache.keyFor("other");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(*a, *b);
    EXPECT_NE(*a, *c);
    EXPECT_EQ(a->size(), 64u);
    BaseImageCache elsewhere(dir_ / "other_cache");
    EXPECT_NE(*elsewhere.keyFor("template"), *a);
}

TEST_F(BaseImageCacheTest, SecondRequestReusesImage) {
    BaseImageCache cache(dir_ / "base_images");
    CancelToken token;
    std::string key = *cache.keyFor("t");
    auto first = cache.getOrBuild(key, dir_ / "s1", token, fakeBuild);
    ASSERT_TRUE(first.ok());
    EXPECT_FALSE(first->reused);
    EXPECT_TRUE(fs::exists(first->disk));
    EXPECT_FALSE(fs::exists(dir_ / "s1"));
    int builds = 0;
    auto second = cache.getOrBuild(key, dir_ / "s2", token, [&](const fs::path& disk) {
        ++builds;
        return fakeBuild(disk);
    });
    ASSERT_TRUE(second.ok());
    EXPECT_TRUE(second->reused);
    EXPECT_EQ(builds, 0);
    EXPECT_EQ(second->info.codename, "bookworm");
}

TEST_F(BaseImageCacheTest, ConcurrentRequestsBuildOnce) {
    BaseImageCache cache(dir_ / "base_images");
    CancelToken token;
    std::string key = *cache.keyFor("t");
    std::atomic<int> builds{0};
    auto slow_build = [&](const fs::path& disk) {
        ++builds;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        return fakeBuild(disk);
    };
    std::vector<std::thread> threads;
    std::atomic<int> succeeded{0};
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&, i] {
            auto entry =
                cache.getOrBuild(key, dir_ / ("stage" + std::to_string(i)), token, slow_build);
            if (entry.ok()) {
                ++succeeded;
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(builds.load(), 1);
    EXPECT_EQ(succeeded.load(), 4);
}

TEST_F(BaseImageCacheTest, FailedBuildLeavesNoEntry) {
    BaseImageCache cache(dir_ / "base_images");
    CancelToken token;
    std::string key = *cache.keyFor("t");
    auto failed = cache.getOrBuild(
        key, dir_ / "s", token,
        [](const fs::path&) -> Result<BaseImageInfo> { return toolFailure("mmdebstrap failed"); });
    ASSERT_FALSE(failed.ok());
    EXPECT_FALSE(fs::exists(dir_ / "base_images" / key));
    auto retried = cache.getOrBuild(key, dir_ / "s2", token, fakeBuild);
    EXPECT_TRUE(retried.ok());
}

TEST_F(BaseImageCacheTest, WaitingForLockHonoursCancel) {
    BaseImageCache cache(dir_ / "base_images");
    CancelToken builder_token;
    CancelToken waiter_token;
    std::string key = *cache.keyFor("t");
    std::thread builder([&] {
        auto entry = cache.getOrBuild(key, dir_ / "s1", builder_token, [](const fs::path& disk) {
            std::this_thread::sleep_for(std::chrono::seconds(2));
            return fakeBuild(disk);
        });
        EXPECT_TRUE(entry.ok());
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        waiter_token.cancel();
    });
    auto waited = cache.getOrBuild(key, dir_ / "s2", waiter_token, fakeBuild);
    canceller.join();
    builder.join();
    ASSERT_FALSE(waited.ok());
    EXPECT_EQ(waited.error().code, ErrorCode::Aborted);
}

TEST_F(BaseImageCacheTest, RejectsKeyThatIsNotHex) {
    BaseImageCache cache(dir_ / "base_images");
    CancelToken token;
    EXPECT_FALSE(cache.getOrBuild("../x", dir_ / "s", token, fakeBuild).ok());
}

}  // namespace
}  // namespace imagefactory
