#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "build/image_checks.hpp"
#include "build/image_formats.hpp"
#include "build/image_targets.hpp"
#include "build/process_runner.hpp"
#include "test_job_context.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string readText(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The data folder persists between runs inside the build tree so that the .deb cache stays
// warm; base images are removed so that every run really builds one.
fs::path dataDir() {
    fs::path dir = fs::path(IF_BINARY_DIR) / "image-test-data";
    fs::create_directories(dir);
    fs::remove_all(dir / "base_images");
    return dir;
}

double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Processes whose command line mentions text, other than this test itself.
std::vector<std::string> processesMentioning(const std::string& text) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::string pid = entry.path().filename();
        if (pid.find_first_not_of("0123456789") != std::string::npos ||
            pid == std::to_string(getpid())) {
            continue;
        }
        std::string cmdline = readText(entry.path() / "cmdline");
        std::string status = readText(entry.path() / "stat");
        size_t end = status.rfind(')');
        bool zombie = end != std::string::npos && end + 2 < status.size() && status[end + 2] == 'Z';
        if (!zombie && cmdline.find(text) != std::string::npos) {
            found.push_back(pid);
        }
    }
    return found;
}

class ImageBuildTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        data_ = new fs::path(dataDir());
        registry_ = new TargetRegistry();
        ImageTargetOptions options;
        options.data_dir = *data_;
        registerImageTargets(*registry_, options);
    }

    static std::string templateXml(const std::string& name) {
        return readText(fs::path(IF_SOURCE_DIR) / "examples" / name);
    }

    static fs::path* data_;
    static TargetRegistry* registry_;
};

fs::path* ImageBuildTest::data_ = nullptr;
TargetRegistry* ImageBuildTest::registry_ = nullptr;

TEST_F(ImageBuildTest, RejectsUnbuildableSystems) {
    std::string xml = templateXml("debian12-minimal.tdl");
    std::string fedora = xml;
    fedora.replace(fedora.find("<name>Debian</name>"), 19, "<name>Fedora</name>");
    Status status = registry_->find("openstack-kvm")->checkTemplate(fedora);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("Debian 11 (bullseye), 12 (bookworm)"),
              std::string::npos);
    std::string buster = xml;
    buster.replace(buster.find("<version>12</version>"), 21, "<version>10</version>");
    EXPECT_FALSE(registry_->find("ec2")->checkTemplate(buster).ok());
    EXPECT_TRUE(registry_->find("ec2")->checkTemplate(xml).ok());
}

TEST_F(ImageBuildTest, BuildsEveryFormatAndBoots) {
    // A root password proves it is hashed into the image and never reaches the build log.
    std::string xml = templateXml("debian12-minimal.tdl");
    xml.insert(xml.find("</install>") + 10, "<rootpw>changeme</rootpw>");
    struct Case {
        std::string target;
        ImageFormat format;
    };
    // The first build makes the base image and boots its qcow2; the rest reuse that image.
    const std::vector<Case> cases = {
        {"openstack-kvm", ImageFormat::Qcow2}, {"ec2", ImageFormat::Raw},
        {"vsphere", ImageFormat::Ova},         {"azure", ImageFormat::VhdFixed},
        {"hyperv", ImageFormat::Vhdx},         {"gce", ImageFormat::GceTarball},
        {"condorcloud", ImageFormat::Raw},     {"rhevm", ImageFormat::Qcow2},
        {"libvirt", ImageFormat::Qcow2},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        SCOPED_TRACE(c.target);
        TestJobContext context("build-" + c.target, *data_ / "jobs" / ("work-" + c.target));
        BuildRequest request{"image",  "build", "target-" + c.target,
                             c.target, xml,     i == 0 ? R"({"boot_check": true})" : "{}"};
        auto started = Clock::now();
        Result<BuildOutput> output = registry_->find(c.target)->build(request, context);
        double seconds = secondsSince(started);
        ASSERT_TRUE(output.ok()) << output.error().message;
        std::printf("target=%s seconds=%.1f bytes=%llu\n", c.target.c_str(), seconds,
                    static_cast<unsigned long long>(fs::file_size(output->file)));

        EXPECT_EQ(output->file_name, imageFileName(c.format));
        ProcessRunner runner(context.logger(), &context.cancelToken());
        EXPECT_TRUE(verifyImage(runner, output->file, c.format, 2ull << 30).ok());
        auto parameters = nlohmann::json::parse(output->parameters);
        EXPECT_EQ(parameters.value("virtual_size", uint64_t{0}), 2ull << 30);
        EXPECT_EQ(parameters.value("base_image_reused", true), i != 0);
        if (i == 0) {
            EXPECT_TRUE(parameters.contains("boot_uefi"));
            EXPECT_TRUE(parameters.contains("boot_bios"));
        }
        if (c.target == "condorcloud") {
            EXPECT_NE(parameters.value("libvirt_xml", "").find("<domain"), std::string::npos);
        }
        EXPECT_EQ(readText(context.logPath()).find("changeme"), std::string::npos);
        EXPECT_GE(context.percents().size(), i == 0 ? 10u : 3u);
        context.removeWorkDir();
    }
    std::vector<fs::path> bases;
    for (const auto& entry : fs::directory_iterator(*data_ / "base_images")) {
        if (entry.is_directory()) {
            bases.push_back(entry.path());
        }
    }
    ASSERT_EQ(bases.size(), 1u) << "every target must share one base image";

    // The template's command ran inside the image and its result is there, read without a VM.
    fs::path disk = bases[0] / "disk.raw";
    auto info = baseImageInfoFromJson(readText(bases[0] / "info.json"));
    ASSERT_TRUE(info.ok());
    ProcessRunner runner(nullptr, nullptr);
    auto made = readGuestFile(runner, disk, info->layout.root.offsetBytes(),
                              "/etc/imagefactory-command.txt");
    ASSERT_TRUE(made.ok()) << made.error().message;
    EXPECT_EQ(*made, "made by command 0\n");
    auto shadow = readGuestFile(runner, disk, info->layout.root.offsetBytes(), "/etc/shadow");
    ASSERT_TRUE(shadow.ok());
    EXPECT_NE(shadow->find("root:$6$"), std::string::npos);
}

TEST_F(ImageBuildTest, CancelStopsEverythingWithinSecond) {
    // A template nobody built yet, so that the cancel lands inside mmdebstrap.
    std::string xml = templateXml("debian12-minimal.tdl");
    xml.replace(xml.find("<package name='tree'/>"), 22, "<package name='file'/>");
    TestJobContext context("cancel", *data_ / "jobs" / "work-cancel");
    BuildRequest request{"image", "build", "target-cancel", "openstack-kvm", xml, "{}"};
    std::thread canceller([&context] {
        std::this_thread::sleep_for(std::chrono::seconds(15));
        context.cancelToken().cancel();
    });
    auto cancel_at = Clock::now() + std::chrono::seconds(15);
    Result<BuildOutput> output = registry_->find("openstack-kvm")->build(request, context);
    auto returned = Clock::now();
    canceller.join();

    ASSERT_FALSE(output.ok());
    EXPECT_EQ(output.error().code, ErrorCode::Aborted) << output.error().message;
    EXPECT_LT(std::chrono::duration<double>(returned - cancel_at).count(), 1.0);
    EXPECT_TRUE(processesMentioning(context.workDir().string()).empty());
    std::string mounts = readText("/proc/self/mountinfo");
    EXPECT_EQ(mounts.find(context.workDir().string()), std::string::npos);
    context.removeWorkDir();
    EXPECT_FALSE(fs::exists(context.workDir()));
}

}  // namespace
}  // namespace imagefactory
