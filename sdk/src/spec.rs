//! Tests that hold the hand-written client to `openapi/openapi.json`, so that any drift between
//! the server's contract and the SDK fails the build: the same operations (method, path, query
//! parameters, headers, request and response schemas), and for every schema a struct with the
//! same property names, optional exactly where the spec makes them optional.
//!
//! Field names are read from the structs themselves, not from a list kept by hand: serde's derived
//! `Deserialize` hands the names of its fields to the deserializer, and [`field_names`] records
//! them.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::{DeserializeOwned, Error as _, Visitor};
use serde::{Deserializer, forward_to_deserialize_any};
use serde_json::{Map, Value, json};

use crate::models::*;
use crate::operations::{self, IDEMPOTENCY_KEY, Operation};
use crate::pagination::Page;

const SPEC: &str = include_str!("../../openapi/openapi.json");

fn spec() -> Value {
    serde_json::from_str(SPEC).expect("openapi/openapi.json is JSON")
}

/// One row of the operation table with its types turned into names.
pub(crate) struct OperationInfo {
    id: &'static str,
    method: String,
    path: &'static str,
    query: BTreeSet<&'static str>,
    request: Option<String>,
    response: Option<String>,
}

impl OperationInfo {
    pub(crate) fn of<Q: DeserializeOwned, B: Schema, R: Schema, const PARAMS: usize>(
        operation: &Operation<Q, B, R, PARAMS>,
    ) -> Self {
        Self {
            id: operation.id,
            method: operation.method.as_str().to_lowercase(),
            path: operation.path,
            query: field_names::<Q>().into_iter().collect(),
            request: B::name(),
            response: R::name(),
        }
    }
}

/// The names of the fields a `#[derive(Deserialize)]` struct reads (after renames); none for `()`.
fn field_names<T: DeserializeOwned>() -> Vec<&'static str> {
    let mut recorded = None;
    let outcome = T::deserialize(Recorder(&mut recorded));
    assert!(outcome.is_err(), "the recorder never produces a value");
    recorded.expect("a struct or unit type").to_vec()
}

/// A deserializer that only records the field list it is asked for.
struct Recorder<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for Recorder<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(Self::Error::custom("only structs and () are introspected"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(Self::Error::custom("recorded"))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        *self.0 = Some(&[]);
        Err(Self::Error::custom("recorded"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// `#/components/schemas/X` → `X`.
fn reference_name(schema: &Value) -> Option<String> {
    schema["$ref"].as_str().and_then(|reference| reference.strip_prefix("#/components/schemas/")).map(str::to_owned)
}

fn resolve<'s>(spec: &'s Value, schema: &'s Value) -> &'s Value {
    match reference_name(schema) {
        Some(name) => resolve(spec, &spec["components"]["schemas"][name.as_str()]),
        None => schema,
    }
}

/// The property names of an object schema and the required ones, through `$ref` and `allOf`.
fn properties(spec: &Value, schema: &Value) -> (BTreeMap<String, Value>, BTreeSet<String>) {
    let schema = resolve(spec, schema);
    let mut all = BTreeMap::new();
    let mut required = BTreeSet::new();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let (part_properties, part_required) = properties(spec, part);
        all.extend(part_properties);
        required.extend(part_required);
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        all.insert(name.clone(), property.clone());
    }
    required.extend(schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned));
    (all, required)
}

/// A value of `schema` with every property present: an instance the SDK type must read.
fn sample(spec: &Value, schema: &Value) -> Value {
    let schema = resolve(spec, schema);
    if schema.get("allOf").is_some() || schema.get("properties").is_some() {
        let (all, _) = properties(spec, schema);
        return Value::Object(all.iter().map(|(name, property)| (name.clone(), sample(spec, property))).collect());
    }
    if let Some(alternatives) = schema["oneOf"].as_array() {
        let concrete = alternatives.iter().find(|alternative| alternative["type"] != "null");
        return concrete.map_or(Value::Null, |alternative| sample(spec, alternative));
    }
    let kind = match &schema["type"] {
        Value::String(kind) => kind.as_str(),
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).find(|kind| *kind != "null").unwrap_or("null"),
        _ => "object",
    };
    match kind {
        // A valid RFC 3339 time is also a valid plain string.
        "string" => json!("2026-01-02T03:04:05Z"),
        "integer" => json!(1),
        "number" => json!(0.5),
        "boolean" => json!(true),
        "array" => json!([sample(spec, &schema["items"])]),
        "object" => match schema.get("additionalProperties") {
            Some(values @ Value::Object(_)) => json!({ "key": sample(spec, values) }),
            _ => json!({}),
        },
        other => panic!("no sample for schema type {other}"),
    }
}

/// A struct mirroring a schema: its name, its fields, and a check that it reads `value`.
struct Mirror {
    name: String,
    fields: BTreeSet<&'static str>,
    reads: fn(Value) -> Result<(), String>,
}

fn mirror<T: Schema + DeserializeOwned>() -> Mirror {
    Mirror {
        name: T::name().expect("a named schema"),
        fields: field_names::<T>().into_iter().collect(),
        reads: |value| serde_json::from_value::<T>(value).map(drop).map_err(|error| error.to_string()),
    }
}

/// Every struct of the SDK that mirrors a schema.
fn mirrors() -> Vec<Mirror> {
    vec![
        mirror::<ApiVersionListOut>(),
        mirror::<ApiVersionOut>(),
        mirror::<AttemptOut>(),
        mirror::<AuditEntryOut>(),
        mirror::<CreateApiVersion>(),
        mirror::<CreateEndpoint>(),
        mirror::<CreateEvent>(),
        mirror::<CreateEventBatch>(),
        mirror::<CreateEventType>(),
        mirror::<CreateTenant>(),
        mirror::<CreatePortalLink>(),
        mirror::<CreateToken>(),
        mirror::<CreatedTokenOut>(),
        mirror::<DeliveryOut>(),
        mirror::<EndpointOut>(),
        mirror::<EndpointSecretOut>(),
        mirror::<EndpointStatsOut>(),
        mirror::<EventBatchOut>(),
        mirror::<EventOut>(),
        mirror::<EventTypeOut>(),
        mirror::<EventTypeVersionListOut>(),
        mirror::<EventTypeVersionOut>(),
        mirror::<EventWithDeliveriesOut>(),
        mirror::<HealthOut>(),
        mirror::<Page<AttemptOut>>(),
        mirror::<Page<AuditEntryOut>>(),
        mirror::<Page<DeliveryOut>>(),
        mirror::<Page<EndpointOut>>(),
        mirror::<Page<EventTypeOut>>(),
        mirror::<Page<EventWithDeliveriesOut>>(),
        mirror::<Page<TenantOut>>(),
        mirror::<Page<TokenOut>>(),
        mirror::<PortalLinkOut>(),
        mirror::<Problem>(),
        mirror::<ProblemField>(),
        mirror::<PutEventTypeVersion>(),
        mirror::<RateLimitBody>(),
        mirror::<RecoverEndpoint>(),
        mirror::<RecoveryOut>(),
        mirror::<RetiredKeyOut>(),
        mirror::<RotateSecret>(),
        mirror::<TenantOut>(),
        mirror::<TokenOut>(),
        mirror::<UpdateEndpoint>(),
        mirror::<UpdateEventType>(),
        mirror::<UpdateTenant>(),
        mirror::<WhoamiOut>(),
    ]
}

/// Every operation of the spec, by `operationId`.
fn spec_operations(spec: &Value) -> BTreeMap<String, (String, String, Value)> {
    let mut operations = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let id = operation["operationId"].as_str().expect("an operationId").to_owned();
            operations.insert(id, (method.clone(), path.clone(), operation.clone()));
        }
    }
    operations
}

fn parameters<'o>(operation: &'o Value, location: &str) -> BTreeSet<&'o str> {
    let parameters = operation["parameters"].as_array().into_iter().flatten();
    parameters
        .filter(|parameter| parameter["in"] == location)
        .filter_map(|parameter| parameter["name"].as_str())
        .collect()
}

/// Asserts that the SDK has exactly the spec's `what`, naming what each side lacks.
fn assert_same_names(sdk: &BTreeSet<String>, spec: &BTreeSet<String>, what: &str) {
    let missing: Vec<&String> = spec.difference(sdk).collect();
    let extra: Vec<&String> = sdk.difference(spec).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what} missing from the SDK: {missing:?}; not in the spec: {extra:?}"
    );
}

/// Runs `check` on each row of the table with its operation in the spec (the operation sets are
/// compared by `the_client_implements_exactly_the_operations_of_the_spec`).
fn for_each_operation(check: impl Fn(&OperationInfo, &Value)) {
    let spec = spec();
    let expected = spec_operations(&spec);
    for operation in operations::all() {
        let (_, _, specified) =
            expected.get(operation.id).unwrap_or_else(|| panic!("{} is not in the spec", operation.id));
        check(&operation, specified);
    }
}

#[test]
fn the_client_implements_exactly_the_operations_of_the_spec() {
    let spec = spec();
    let expected = spec_operations(&spec);
    let table = operations::all();
    let implemented: BTreeSet<String> = table.iter().map(|operation| operation.id.to_owned()).collect();
    let specified: BTreeSet<String> = expected.keys().cloned().collect();
    assert_eq!(implemented.len(), table.len(), "an operationId appears twice in the table");
    assert_same_names(&implemented, &specified, "operations");
    for operation in &table {
        let (method, path, _) = &expected[operation.id];
        assert_eq!((&operation.method, operation.path), (method, path.as_str()), "{}", operation.id);
    }
}

#[test]
fn each_operation_takes_the_query_parameters_and_headers_of_the_spec() {
    for_each_operation(|operation, specified| {
        assert_eq!(operation.query, parameters(specified, "query"), "query parameters of {}", operation.id);
        let headers = parameters(specified, "header");
        let sends = if operation.id == "create_event" { BTreeSet::from([IDEMPOTENCY_KEY]) } else { BTreeSet::new() };
        assert_eq!(headers, sends, "header parameters of {}", operation.id);
    });
}

#[test]
fn each_operation_sends_and_receives_the_schemas_of_the_spec() {
    for_each_operation(|operation, specified| {
        let request = reference_name(&specified["requestBody"]["content"]["application/json"]["schema"]);
        assert_eq!(operation.request, request, "request body of {}", operation.id);
        let responses = specified["responses"].as_object().expect("responses");
        for (status, response) in responses.iter().filter(|(status, _)| status.starts_with('2')) {
            let body = reference_name(&response["content"]["application/json"]["schema"]);
            assert_eq!(operation.response, body, "{status} response of {}", operation.id);
        }
    });
}

#[test]
fn every_schema_of_the_spec_has_a_struct_with_the_same_fields() {
    let spec = spec();
    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    let mirrors = mirrors();
    let mirrored: BTreeSet<String> = mirrors.iter().map(|mirror| mirror.name.clone()).collect();
    let specified: BTreeSet<String> = schemas.keys().cloned().collect();
    assert_same_names(&mirrored, &specified, "schemas");
    for mirror in &mirrors {
        let (properties, _) = properties(&spec, &schemas[&mirror.name]);
        let names: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
        assert_eq!(mirror.fields, names, "fields of {}", mirror.name);
    }
}

#[test]
fn struct_fields_are_optional_exactly_where_the_spec_says_and_read_the_spec_types() {
    let spec = spec();
    for mirror in mirrors() {
        let schema = &spec["components"]["schemas"][mirror.name.as_str()];
        let Value::Object(full) = sample(&spec, schema) else { panic!("{} is not an object", mirror.name) };
        let (_, required) = properties(&spec, schema);
        if let Err(error) = (mirror.reads)(Value::Object(full.clone())) {
            panic!("{} cannot read a full instance of its schema: {error}", mirror.name);
        }
        let minimal: Map<String, Value> = full
            .iter()
            .filter(|(name, _)| required.contains(*name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        if let Err(error) = (mirror.reads)(Value::Object(minimal.clone())) {
            panic!("{} requires a field the spec makes optional: {error}", mirror.name);
        }
        for name in &required {
            let mut without = minimal.clone();
            without.remove(name);
            assert!(
                (mirror.reads)(Value::Object(without)).is_err(),
                "{}.{name} is required by the spec but optional in the SDK",
                mirror.name
            );
        }
    }
}

#[test]
fn the_introspection_sees_renamed_fields_and_unit() {
    // `Problem::kind` is `type` on the wire; the checks above rely on seeing wire names.
    assert!(field_names::<Problem>().contains(&"type"));
    assert!(field_names::<()>().is_empty());
}
