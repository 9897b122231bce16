#include "build/debian_release.hpp"

#include <gtest/gtest.h>

#include "build/debian_builder.hpp"
#include "build/image_checks.hpp"

namespace imagefactory {
namespace {

Tdl debianTdl(std::string version = "12") {
    Tdl tdl;
    tdl.name = "t";
    tdl.os_name = "Debian";
    tdl.os_version = std::move(version);
    tdl.os_arch = "x86_64";
    tdl.install_type = "url";
    tdl.install_location = "http://deb.debian.org/debian";
    return tdl;
}

TEST(DebianReleaseTest, AcceptsNumbersAndCodenames) {
    struct Case {
        const char* version;
        const char* codename;
    };
    const Case cases[] = {{"11", "bullseye"},
                          {"12", "bookworm"},
                          {"13", "trixie"},
                          {"bookworm", "bookworm"},
                          {"Trixie", "trixie"}};
    for (const Case& c : cases) {
        auto release = resolveDebianRelease(debianTdl(c.version));
        ASSERT_TRUE(release.ok()) << c.version;
        EXPECT_EQ(release->codename, c.codename);
    }
}

TEST(DebianReleaseTest, RejectionsListWhatCanBeBuilt) {
    Tdl fedora = debianTdl();
    fedora.os_name = "Fedora";
    Tdl old = debianTdl("10");
    Tdl i386 = debianTdl();
    i386.os_arch = "i386";
    Tdl iso = debianTdl();
    iso.install_type = "iso";
    Tdl ftp = debianTdl();
    ftp.install_location = "ftp://deb.debian.org/debian";
    for (const Tdl& tdl : {fedora, old, i386}) {
        auto release = resolveDebianRelease(tdl);
        ASSERT_FALSE(release.ok());
        EXPECT_EQ(release.error().code, ErrorCode::UserInput);
        EXPECT_NE(release.error().message.find(buildableSystems()), std::string::npos);
    }
    EXPECT_FALSE(resolveDebianRelease(iso).ok());
    EXPECT_FALSE(resolveDebianRelease(ftp).ok());
}

TEST(DebianReleaseTest, AptSourceLines) {
    DebianRelease bookworm{"12", "bookworm"};
    TdlRepository plain{.name = "extra", .url = "http://repo.example.org/debian"};
    EXPECT_EQ(*aptSourceLine(plain, bookworm),
              "deb [trusted=yes] http://repo.example.org/debian bookworm main");
    TdlRepository full{
        .name = "x", .url = "https://r.example.org/d stable main contrib", .is_signed = true};
    EXPECT_EQ(*aptSourceLine(full, bookworm), "deb https://r.example.org/d stable main contrib");
    TdlRepository injected{.name = "bad", .url = "http://r.example.org/d\ndeb http://evil/ x y"};
    EXPECT_FALSE(aptSourceLine(injected, bookworm).ok());
    TdlRepository options{.name = "bad", .url = "[trusted=yes] http://r.example.org/d"};
    EXPECT_FALSE(aptSourceLine(options, bookworm).ok());
}

TEST(DebianReleaseTest, CanonicalTextIgnoresPackageOrder) {
    DebianRelease release{"12", "bookworm"};
    Tdl a = debianTdl();
    a.packages = {{.name = "tree"}, {.name = "file"}};
    Tdl b = debianTdl();
    b.packages = {{.name = "file"}, {.name = "tree"}, {.name = "tree"}};
    b.name = "another name";
    b.description = "descriptions do not change the image";
    EXPECT_EQ(canonicalTemplateText(a, release, "http://m", 1),
              canonicalTemplateText(b, release, "http://m", 1));
}

TEST(DebianReleaseTest, CanonicalTextFollowsContent) {
    DebianRelease release{"12", "bookworm"};
    Tdl a = debianTdl();
    a.files = {{.name = "/etc/motd", .content = "one"}};
    Tdl b = a;
    b.files[0].content = "two";
    Tdl c = a;
    c.rootpw = "secret";
    std::string text_a = canonicalTemplateText(a, release, "http://m", 1);
    EXPECT_NE(text_a, canonicalTemplateText(b, release, "http://m", 1));
    EXPECT_NE(text_a, canonicalTemplateText(c, release, "http://m", 1));
    EXPECT_NE(text_a, canonicalTemplateText(a, release, "http://m", 2));
    EXPECT_EQ(canonicalTemplateText(c, release, "http://m", 1).find("secret"), std::string::npos);
}

TEST(DebianReleaseTest, CommandsRunByPosition) {
    Tdl tdl = debianTdl();
    tdl.commands = {
        {.name = "c", .position = 3}, {.name = "a", .position = 1}, {.name = "b", .position = 1}};
    auto ordered = commandsInOrder(tdl);
    ASSERT_EQ(ordered.size(), 3u);
    EXPECT_EQ(ordered[0].name, "a");
    EXPECT_EQ(ordered[1].name, "b");
    EXPECT_EQ(ordered[2].name, "c");
}

TEST(DebianReleaseTest, BullseyeHasNoSeparateResolved) {
    auto bullseye = basePackages({"11", "bullseye"});
    auto bookworm = basePackages({"12", "bookworm"});
    EXPECT_EQ(std::count(bullseye.begin(), bullseye.end(), "systemd-resolved"), 0);
    EXPECT_EQ(std::count(bookworm.begin(), bookworm.end(), "systemd-resolved"), 1);
}

TEST(DpkgStatusTest, ListsInstalledPackagesOnly) {
    std::string status =
        "Package: tree\nStatus: install ok installed\nVersion: 2\n\n"
        "Package: gone\nStatus: deinstall ok config-files\n\n"
        "Package: bash\nStatus: install ok installed\n";
    EXPECT_EQ(installedPackages(status), (std::vector<std::string>{"bash", "tree"}));
}

TEST(BaseImageInfoTest, RoundTripsThroughJson) {
    BaseImageInfo info;
    info.layout = *computeDiskLayout(2ull << 30, 0);
    info.root_fs_uuid = "r";
    info.esp_volume_id = "abcd1234";
    info.codename = "bookworm";
    auto back = baseImageInfoFromJson(toJson(info));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->layout.root.start_sector, info.layout.root.start_sector);
    EXPECT_EQ(back->layout.esp.uuid, info.layout.esp.uuid);
    EXPECT_EQ(back->esp_volume_id, "abcd1234");
    EXPECT_FALSE(baseImageInfoFromJson("{}").ok());
}

}  // namespace
}  // namespace imagefactory
