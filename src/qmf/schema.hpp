#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qmf/protocol.hpp"
#include "qmf/value.hpp"

// The QMF schema of the agent: one table of every class, property, method, argument and event
// with the wire names, types and descriptions of the original Image Factory. Nothing else in
// the agent spells a wire name: it uses the constants below, which the table is built from.
namespace imagefactory::qmf::schema {

inline constexpr std::string_view kPackage = "com.redhat.imagefactory";
inline constexpr std::string_view kVendor = "redhat.com";
inline constexpr std::string_view kProduct = "imagefactory";

// Classes.
inline constexpr std::string_view kImageFactory = "ImageFactory";
inline constexpr std::string_view kBuildAdaptor = "BuildAdaptor";
inline constexpr std::string_view kStatusEvent = "BuildAdaptorStatusEvent";
inline constexpr std::string_view kPercentEvent = "BuildAdaptorPercentCompleteEvent";
inline constexpr std::string_view kFailedEvent = "BuildFailedEvent";

// Methods.
inline constexpr std::string_view kBuildImage = "build_image";
inline constexpr std::string_view kPushImage = "push_image";
inline constexpr std::string_view kImportImage = "import_image";
inline constexpr std::string_view kInstanceStates = "instance_states";
inline constexpr std::string_view kAbort = "abort";

// Method arguments, BuildAdaptor properties and event properties.
inline constexpr std::string_view kImage = "image";
inline constexpr std::string_view kBuild = "build";
inline constexpr std::string_view kTemplate = "template";
inline constexpr std::string_view kTargets = "targets";
inline constexpr std::string_view kProviders = "providers";
inline constexpr std::string_view kCredentials = "credentials";
inline constexpr std::string_view kBuildAdaptors = "build_adaptors";
inline constexpr std::string_view kTargetIdentifier = "target_identifier";
inline constexpr std::string_view kImageDesc = "image_desc";
inline constexpr std::string_view kTarget = "target";
inline constexpr std::string_view kProvider = "provider";
inline constexpr std::string_view kTargetImage = "target_image";
inline constexpr std::string_view kProviderImage = "provider_image";
inline constexpr std::string_view kClassName = "class_name";
inline constexpr std::string_view kStates = "states";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kPercentComplete = "percent_complete";
inline constexpr std::string_view kImageId = "image_id";
inline constexpr std::string_view kAddr = "addr";
inline constexpr std::string_view kEvent = "event";
inline constexpr std::string_view kNewStatus = "new_status";
inline constexpr std::string_view kOldStatus = "old_status";
inline constexpr std::string_view kType = "type";
inline constexpr std::string_view kInfo = "info";

// Values of an event's "event" property.
inline constexpr std::string_view kEventStatus = "STATUS";
inline constexpr std::string_view kEventPercentage = "PERCENTAGE";
inline constexpr std::string_view kEventFailure = "FAILURE";

// The ImageFactory singleton's object name.
inline constexpr std::string_view kImageFactoryObject = "image_factory";

enum class ClassKind { Data, Event };
enum class DataType { Void, Bool, Int, Float, String, Map, List, Uuid };
enum class Access { ReadCreate, ReadWrite, ReadOnly };
enum class Direction { In, Out, InOut };

// Event severities, as syslog numbers them.
enum class Severity { Emergency, Alert, Critical, Error, Warning, Notice, Info, Debug };

std::string_view dataTypeName(DataType type);      // TYPE_STRING, ...
std::string_view severityWord(Severity severity);  // emerg alert crit error warn note info debug

// A property of a data class, an argument of a method or an argument of an event.
struct Property {
    std::string name;
    DataType type = DataType::String;
    Direction dir = Direction::In;
    Access access = Access::ReadOnly;
    std::string desc;

    bool isInput() const { return dir == Direction::In || dir == Direction::InOut; }
    bool isOutput() const { return dir == Direction::Out || dir == Direction::InOut; }
    // PROPERTY map: _name, _type, _access, _dir, and _desc when set.
    Map toMap() const;
};

struct Method {
    std::string name;
    std::string desc;
    std::vector<Property> arguments;  // in declared order: consoles map positions by it

    const Property* argument(std::string_view name) const;
    Map toMap() const;
};

struct Class {
    ClassKind kind = ClassKind::Data;
    std::string package;
    std::string name;
    std::vector<Property> properties;  // object properties, or event arguments
    std::vector<Method> methods;
    Severity default_severity = Severity::Notice;  // event classes only
    Uuid hash;                                     // MD5 of canonicalText()

    const Method* method(std::string_view name) const;
    // SCHEMA_ID with all four keys.
    SchemaId id() const;
    // Schema map: _schema_id, _properties, _methods (always), _default_severity for events.
    Map toMap() const;
    // The text the hash is computed over: every name, type, access, direction, description
    // and severity in declared order, one line each.
    std::string canonicalText() const;
};

// Every class of the agent, data classes first, in a fixed order.
const std::vector<Class>& classes();

// The class named, or nullptr. An empty package matches any package.
const Class* findClass(std::string_view package, std::string_view name);

}  // namespace imagefactory::qmf::schema
