#include "qmf/schema.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstring>
#include <set>

#include "value_printer.hpp"

namespace imagefactory::qmf::schema {
namespace {

struct ArgumentRow {
    std::string name;
    std::string type;
    std::string dir;
};

std::vector<ArgumentRow> rowsOf(const std::vector<Property>& properties) {
    std::vector<ArgumentRow> rows;
    for (const Property& p : properties) {
        const Map map = p.toMap();
        rows.push_back(
            {*textField(map, "_name"), *textField(map, "_type"), *textField(map, "_dir")});
    }
    return rows;
}

void expectRows(const std::vector<Property>& actual, const std::vector<ArgumentRow>& expected,
                const std::string& where) {
    auto rows = rowsOf(actual);
    ASSERT_EQ(rows.size(), expected.size()) << where;
    for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(rows[i].name, expected[i].name) << where << " #" << i;
        EXPECT_EQ(rows[i].type, expected[i].type) << where << " #" << i;
        EXPECT_EQ(rows[i].dir, expected[i].dir) << where << " #" << i;
    }
}

const Class& mustFind(std::string_view name) {
    const Class* c = findClass("com.redhat.imagefactory", name);
    EXPECT_NE(c, nullptr) << name;
    return *c;
}

TEST(SchemaTest, ClassNamesAndKinds) {
    std::vector<std::pair<std::string, ClassKind>> expected = {
        {"ImageFactory", ClassKind::Data},
        {"BuildAdaptor", ClassKind::Data},
        {"BuildAdaptorStatusEvent", ClassKind::Event},
        {"BuildAdaptorPercentCompleteEvent", ClassKind::Event},
        {"BuildFailedEvent", ClassKind::Event},
    };
    ASSERT_EQ(classes().size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(classes()[i].name, expected[i].first);
        EXPECT_EQ(classes()[i].kind, expected[i].second);
        EXPECT_EQ(classes()[i].package, "com.redhat.imagefactory");
    }
}

TEST(SchemaTest, ImageFactoryMethodsInOrder) {
    const Class& factory = mustFind("ImageFactory");
    EXPECT_TRUE(factory.properties.empty());
    ASSERT_EQ(factory.methods.size(), 4u);
    EXPECT_EQ(factory.methods[0].name, "build_image");
    EXPECT_EQ(factory.methods[1].name, "push_image");
    EXPECT_EQ(factory.methods[2].name, "import_image");
    EXPECT_EQ(factory.methods[3].name, "instance_states");

    expectRows(factory.method("build_image")->arguments,
               {{"image", "TYPE_STRING", "I"},
                {"build", "TYPE_STRING", "I"},
                {"template", "TYPE_STRING", "I"},
                {"targets", "TYPE_LIST", "I"},
                {"build_adaptors", "TYPE_LIST", "O"}},
               "build_image");
    expectRows(factory.method("push_image")->arguments,
               {{"image", "TYPE_STRING", "I"},
                {"build", "TYPE_STRING", "I"},
                {"providers", "TYPE_LIST", "I"},
                {"credentials", "TYPE_STRING", "I"},
                {"build_adaptors", "TYPE_LIST", "O"}},
               "push_image");
    expectRows(factory.method("import_image")->arguments,
               {{"image", "TYPE_STRING", "IO"},
                {"build", "TYPE_STRING", "IO"},
                {"target_identifier", "TYPE_STRING", "I"},
                {"image_desc", "TYPE_STRING", "I"},
                {"target", "TYPE_STRING", "I"},
                {"provider", "TYPE_STRING", "I"},
                {"target_image", "TYPE_STRING", "O"},
                {"provider_image", "TYPE_STRING", "O"}},
               "import_image");
    expectRows(factory.method("instance_states")->arguments,
               {{"class_name", "TYPE_STRING", "I"}, {"states", "TYPE_STRING", "O"}},
               "instance_states");
}

TEST(SchemaTest, BuildAdaptorPropertiesAndAbort) {
    const Class& adaptor = mustFind("BuildAdaptor");
    expectRows(adaptor.properties,
               {{"image", "TYPE_STRING", "I"},
                {"build", "TYPE_STRING", "I"},
                {"status", "TYPE_STRING", "I"},
                {"percent_complete", "TYPE_INT", "I"},
                {"image_id", "TYPE_STRING", "I"}},
               "BuildAdaptor");
    ASSERT_EQ(adaptor.methods.size(), 1u);
    EXPECT_EQ(adaptor.methods[0].name, "abort");
    EXPECT_TRUE(adaptor.methods[0].arguments.empty());
    EXPECT_EQ(adaptor.methods[0].desc, "If possible, abort running build.");
}

TEST(SchemaTest, EventArgumentsAndSeverities) {
    const Class& status = mustFind("BuildAdaptorStatusEvent");
    expectRows(status.properties,
               {{"addr", "TYPE_MAP", "I"},
                {"event", "TYPE_STRING", "I"},
                {"new_status", "TYPE_STRING", "I"},
                {"old_status", "TYPE_STRING", "I"}},
               "status event");
    EXPECT_EQ(status.default_severity, Severity::Notice);

    const Class& percent = mustFind("BuildAdaptorPercentCompleteEvent");
    expectRows(percent.properties,
               {{"addr", "TYPE_MAP", "I"},
                {"event", "TYPE_STRING", "I"},
                {"percent_complete", "TYPE_INT", "I"}},
               "percent event");
    EXPECT_EQ(percent.default_severity, Severity::Notice);

    const Class& failed = mustFind("BuildFailedEvent");
    expectRows(failed.properties,
               {{"addr", "TYPE_MAP", "I"},
                {"event", "TYPE_STRING", "I"},
                {"type", "TYPE_STRING", "I"},
                {"info", "TYPE_STRING", "I"}},
               "failed event");
    EXPECT_EQ(failed.default_severity, Severity::Error);
}

TEST(SchemaTest, OriginalDescriptions) {
    const Class& factory = mustFind("ImageFactory");
    EXPECT_EQ(factory.method("build_image")->desc, "Build an image for the given target clouds");
    EXPECT_EQ(factory.method("build_image")->argument("template")->desc,
              "string of xml, uuid, or url");
    EXPECT_EQ(factory.method("push_image")->desc, "Push an image to multiple providers.");
    EXPECT_EQ(factory.method("instance_states")->argument("states")->desc,
              "string representation of a dictionary describing the workflow");
    EXPECT_EQ(mustFind("BuildFailedEvent").properties[3].desc,
              "longer string description of the failure");
}

TEST(SchemaTest, SchemaMapLayout) {
    const Class& adaptor = mustFind("BuildAdaptor");
    Map map = adaptor.toMap();
    ASSERT_TRUE(map.contains("_schema_id"));
    const Map& id = *map.at("_schema_id").map();
    EXPECT_EQ(textField(id, "_package_name"), "com.redhat.imagefactory");
    EXPECT_EQ(textField(id, "_class_name"), "BuildAdaptor");
    EXPECT_EQ(textField(id, "_type"), "_data");
    EXPECT_EQ(id.at("_hash"), Value(adaptor.hash));
    EXPECT_FALSE(map.contains("_default_severity"));

    const Map& first = *map.at("_properties").list()->at(0).map();
    EXPECT_EQ(textField(first, "_access"), "RO");
    EXPECT_EQ(textField(first, "_dir"), "I");
    EXPECT_EQ(textField(first, "_desc"), "UUID of the image");

    const Map& abort = *map.at("_methods").list()->at(0).map();
    EXPECT_EQ(textField(abort, "_name"), "abort");
    EXPECT_EQ(abort.at("_arguments"), Value(List{}));
}

TEST(SchemaTest, EventSchemaMapHasSeverityAndMethods) {
    Map map = mustFind("BuildFailedEvent").toMap();
    EXPECT_EQ(map.at("_default_severity"), Value(uint32_t{3}));
    EXPECT_EQ(map.at("_methods"), Value(List{}));
    EXPECT_EQ(textField(*map.at("_schema_id").map(), "_type"), "_event");
}

TEST(SchemaTest, HashesAreDistinctAndStable) {
    std::set<std::string> seen;
    for (const Class& c : classes()) {
        EXPECT_TRUE(seen.insert(uuidText(c.hash)).second) << c.name;
        EXPECT_NE(c.hash, Uuid{}) << c.name;
    }
    // Pinned so that any edit of the schema is noticed: a new hash is a schema change that
    // consoles must refetch.
    EXPECT_EQ(uuidText(mustFind("ImageFactory").hash), "d1058fe6-a751-b039-1712-5475ea151c95");
    EXPECT_EQ(uuidText(mustFind("BuildAdaptor").hash), "f3e4eb9d-a66e-a723-74ca-9f8ecc7abd03");
}

TEST(SchemaTest, HashIsMd5OfCanonicalText) {
    for (const Class& c : classes()) {
        std::string text = c.canonicalText();
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        ASSERT_EQ(EVP_Digest(text.data(), text.size(), digest, &length, EVP_md5(), nullptr), 1);
        ASSERT_EQ(length, 16u);
        EXPECT_EQ(std::memcmp(c.hash.bytes.data(), digest, 16), 0) << c.name;
    }
}

TEST(SchemaTest, CanonicalTextCoversDescriptions) {
    Class copy = mustFind("BuildAdaptor");
    copy.properties[1].desc = "UUID of the build";
    EXPECT_NE(copy.canonicalText(), mustFind("BuildAdaptor").canonicalText());
}

TEST(SchemaTest, FindClassByPackage) {
    EXPECT_NE(findClass("", "BuildAdaptor"), nullptr);
    EXPECT_EQ(findClass("org.example", "BuildAdaptor"), nullptr);
    EXPECT_EQ(findClass("com.redhat.imagefactory", "NoSuchClass"), nullptr);
}

TEST(SchemaTest, SeverityWords) {
    EXPECT_EQ(severityWord(Severity::Notice), "note");
    EXPECT_EQ(severityWord(Severity::Error), "error");
    EXPECT_EQ(severityWord(Severity::Emergency), "emerg");
    EXPECT_EQ(severityWord(Severity::Debug), "debug");
}

}  // namespace
}  // namespace imagefactory::qmf::schema
