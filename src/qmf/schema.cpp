#include "qmf/schema.hpp"

#include <openssl/evp.h>

#include <cstring>

namespace imagefactory::qmf::schema {

namespace {

std::string_view accessName(Access access) {
    switch (access) {
        case Access::ReadCreate:
            return "RC";
        case Access::ReadWrite:
            return "RW";
        case Access::ReadOnly:
            return "RO";
    }
    return "RO";
}

std::string_view directionName(Direction dir) {
    switch (dir) {
        case Direction::In:
            return "I";
        case Direction::Out:
            return "O";
        case Direction::InOut:
            return "IO";
    }
    return "I";
}

Property prop(std::string_view name, DataType type, Direction dir, std::string desc) {
    return Property{std::string(name), type, dir, Access::ReadOnly, std::move(desc)};
}

Uuid md5(const std::string& text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    Uuid uuid;
    if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_md5(), nullptr) == 1 &&
        length == 16) {
        std::memcpy(uuid.bytes.data(), digest, 16);
    }
    return uuid;
}

// The descriptions are the original Image Factory's schema texts (imgfac/qmfagent, 2011),
// kept byte for byte because consoles show them; "UUD of the build" is its spelling.
std::vector<Class> buildClasses() {
    using enum DataType;
    using enum Direction;
    const std::string package(kPackage);

    // The original's legacy methods image(template, target) and provider_image(image_id,
    // provider, credentials) are left out: build_image and push_image replaced them in 2011.
    Class factory{ClassKind::Data, package, std::string(kImageFactory), {}, {}};
    factory.methods = {
        Method{std::string(kBuildImage),
               "Build an image for the given target clouds",
               {prop(kImage, String, In, "the UUID of an image previously built"),
                prop(kBuild, String, In, "the UUID of a previous build of the image"),
                prop(kTemplate, String, In, "string of xml, uuid, or url"),
                prop(kTargets, List, In, "names of the clouds to target"),
                prop(kBuildAdaptors, List, Out,
                     "the QMF addresses of the build_adaptors instantiated")}},
        Method{std::string(kPushImage),
               "Push an image to multiple providers.",
               {prop(kImage, String, In, "the UUID of an image previously built"),
                prop(kBuild, String, In, "the UUID of a previous build of the image"),
                prop(kProviders, List, In, "the names of the cloud providers, often regions"),
                prop(kCredentials, String, In, "an xml string representation of the credentials"),
                prop(kBuildAdaptors, List, Out,
                     "the QMF addresses of the build_adaptors instantiated")}},
        Method{std::string(kImportImage),
               "Import an image using a target specific image identifier",
               {prop(kImage, String, InOut, "the UUID of an image previously built"),
                prop(kBuild, String, InOut, "the UUID of a previous build of the image"),
                prop(kTargetIdentifier, String, In, "the target specific image ID"),
                prop(kImageDesc, String, In, "an xml string description of the image"),
                prop(kTarget, String, In, "name of the cloud to target"),
                prop(kProvider, String, In, "the name of the cloud provider, often a region"),
                prop(kTargetImage, String, Out, "the UUID of the target image object"),
                prop(kProviderImage, String, Out, "the UUID of the provider image object")}},
        Method{std::string(kInstanceStates),
               "Returns a dictionary representing the finite state machine for instances.",
               {prop(kClassName, String, In, "the name of the class to query for instance states"),
                prop(kStates, String, Out,
                     "string representation of a dictionary describing the workflow")}},
    };

    Class adaptor{ClassKind::Data, package, std::string(kBuildAdaptor), {}, {}};
    adaptor.properties = {
        prop(kImage, String, In, "UUID of the image"),
        prop(kBuild, String, In, "UUD of the build"),
        prop(kStatus, String, In,
             "string representing the status (see instance_states() on ImageFactory)"),
        prop(kPercentComplete, Int, In, "the estimated percentage through an operation"),
        prop(kImageId, String, In, "UUID of the newly created target or provider image"),
    };
    adaptor.methods = {Method{std::string(kAbort), "If possible, abort running build.", {}}};

    const Property addr = prop(kAddr, Map, In, "the address of the object raising this event");
    Class status_event{ClassKind::Event, package, std::string(kStatusEvent), {}, {}};
    status_event.properties = {
        addr,
        prop(kEvent, String, In, "string describing the type of event, in this case 'STATUS'"),
        prop(kNewStatus, String, In, "string value of the new status"),
        prop(kOldStatus, String, In, "string value of the old status"),
    };
    status_event.default_severity = Severity::Notice;

    Class percent_event{ClassKind::Event, package, std::string(kPercentEvent), {}, {}};
    percent_event.properties = {
        addr,
        prop(kEvent, String, In, "string describing the type of event, in this case 'PERCENTAGE'"),
        prop(kPercentComplete, Int, In, "the estimated percentage through an operation"),
    };
    percent_event.default_severity = Severity::Notice;

    Class failed_event{ClassKind::Event, package, std::string(kFailedEvent), {}, {}};
    failed_event.properties = {
        addr,
        prop(kEvent, String, In, "string describing the type of event, in this case 'FAILURE'"),
        prop(kType, String, In, "short string description of the failure"),
        prop(kInfo, String, In, "longer string description of the failure"),
    };
    failed_event.default_severity = Severity::Error;

    std::vector<Class> all = {factory, adaptor, status_event, percent_event, failed_event};
    for (Class& c : all) {
        c.hash = md5(c.canonicalText());
    }
    return all;
}

void appendPropertyLine(const char* tag, const Property& p, std::string& text) {
    text += tag;
    text += ' ' + p.name + ' ' + std::string(dataTypeName(p.type)) + ' ' +
            std::string(accessName(p.access)) + ' ' + std::string(directionName(p.dir)) + ' ' +
            p.desc + '\n';
}

}  // namespace

std::string_view dataTypeName(DataType type) {
    switch (type) {
        case DataType::Void:
            return "TYPE_VOID";
        case DataType::Bool:
            return "TYPE_BOOL";
        case DataType::Int:
            return "TYPE_INT";
        case DataType::Float:
            return "TYPE_FLOAT";
        case DataType::String:
            return "TYPE_STRING";
        case DataType::Map:
            return "TYPE_MAP";
        case DataType::List:
            return "TYPE_LIST";
        case DataType::Uuid:
            return "TYPE_UUID";
    }
    return "TYPE_VOID";
}

std::string_view severityWord(Severity severity) {
    static constexpr std::string_view kWords[] = {"emerg", "alert", "crit", "error",
                                                  "warn",  "note",  "info", "debug"};
    return kWords[static_cast<int>(severity)];
}

Map Property::toMap() const {
    Map map{{"_name", name},
            {"_type", std::string(dataTypeName(type))},
            {"_access", std::string(accessName(access))},
            {"_dir", std::string(directionName(dir))}};
    if (!desc.empty()) {
        map["_desc"] = desc;
    }
    return map;
}

const Property* Method::argument(std::string_view wanted) const {
    for (const Property& p : arguments) {
        if (p.name == wanted) {
            return &p;
        }
    }
    return nullptr;
}

Map Method::toMap() const {
    List args;
    for (const Property& p : arguments) {
        args.push_back(p.toMap());
    }
    Map map{{"_name", name}, {"_arguments", std::move(args)}};
    if (!desc.empty()) {
        map["_desc"] = desc;
    }
    return map;
}

const Method* Class::method(std::string_view wanted) const {
    for (const Method& m : methods) {
        if (m.name == wanted) {
            return &m;
        }
    }
    return nullptr;
}

SchemaId Class::id() const {
    return SchemaId{package, name,
                    std::string(kind == ClassKind::Data ? kContentData : kContentEvent), hash};
}

Map Class::toMap() const {
    List property_maps;
    for (const Property& p : properties) {
        property_maps.push_back(p.toMap());
    }
    List method_maps;
    for (const Method& m : methods) {
        method_maps.push_back(m.toMap());
    }
    Map map{{"_schema_id", id().toMap()},
            {"_properties", std::move(property_maps)},
            {"_methods", std::move(method_maps)}};
    if (kind == ClassKind::Event) {
        map["_default_severity"] = static_cast<uint32_t>(default_severity);
    }
    return map;
}

std::string Class::canonicalText() const {
    std::string text =
        std::string(kind == ClassKind::Data ? "data " : "event ") + package + ' ' + name + '\n';
    if (kind == ClassKind::Event) {
        text += "severity " + std::to_string(static_cast<int>(default_severity)) + '\n';
    }
    for (const Property& p : properties) {
        appendPropertyLine("property", p, text);
    }
    for (const Method& m : methods) {
        text += "method " + m.name + ' ' + m.desc + '\n';
        for (const Property& a : m.arguments) {
            appendPropertyLine("argument", a, text);
        }
    }
    return text;
}

const std::vector<Class>& classes() {
    static const std::vector<Class> all = buildClasses();
    return all;
}

const Class* findClass(std::string_view package, std::string_view name) {
    for (const Class& c : classes()) {
        if (c.name == name && (package.empty() || c.package == package)) {
            return &c;
        }
    }
    return nullptr;
}

}  // namespace imagefactory::qmf::schema
