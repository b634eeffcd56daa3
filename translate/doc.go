// Package translate converts between P4Runtime entities and the typed rules of
// package dataplane. It is pure code: no kernel, no I/O, no logging. The P4Runtime
// server decodes what a controller writes with it, stores the decoded values and
// answers reads by encoding them again.
//
// # Canonical form and read-write symmetry
//
// Decoding accepts every encoding the P4Runtime specification allows — bytestrings
// padded with leading zero bytes (ONOS up to 2.7 pads to the field width) as well as
// canonical (shortest) ones, match fields and action parameters in any order — and
// encoding produces exactly one form, the canonical one:
//
//   - bytestrings are the shortest string holding the value (zero is "\x00");
//   - match fields are sorted by field ID, don't-care fields are omitted (the
//     decoder rejects them when present, as the specification requires);
//   - action parameters are sorted by parameter ID;
//   - priority, controller_metadata, metadata and is_default_action are kept as
//     written; data-plane volatile fields (counter_data) are not part of the form.
//
// So Encode(Decode(x)) equals Canonical(x), Canonical is idempotent, and a canonical
// x comes back identical (proto.Equal, and byte for byte under deterministic
// marshalling). The server stores decoded entries (Entry, Member, Group) and encodes
// them on reads: what a controller reads back is what it wrote, up to the order of
// repeated fields, which the specification lets a server change ("Read-Write
// Symmetry").
//
// # Error codes
//
// Every error is an *Error carrying a gRPC code chosen after the P4Runtime
// specification (v1.4/1.5 text, docs/v1/P4Runtime-Spec.adoc); *Error implements
// GRPCStatus, so status.Code and status.FromError see the code directly:
//
//   - OUT_OF_RANGE: a bytestring that is empty or whose value does not fit the
//     P4Info bit width ("Bytestrings": "When the server rejects a binary string due
//     to any of the previous criteria, it returns an OUT_OF_RANGE error"; the
//     "Match Format" and "Action Specification" sections say INVALID_ARGUMENT for
//     malformed values in general — the dedicated rule wins here); a counter index
//     at or above the counter size ("CounterEntry"); a meter index at or above the
//     meter size ("MeterEntry"), and a far_qos far_id at or above it; a meter rate
//     above 2^40 or burst above 2^32-1 (what the data path's arithmetic holds).
//   - NOT_FOUND: an unknown table, action profile, counter or meter ID (nothing of that ID
//     exists on the device; the spec names no code for this case).
//   - INVALID_ARGUMENT: everything malformed in an entity: an unknown match field,
//     parameter or action (an action the table cannot use at all is
//     INVALID_ARGUMENT per "Action Specification"), a duplicate or missing match
//     field or parameter, a wrong match kind, a don't-care match that is present
//     (ternary mask zero, full range, LPM prefix length zero), ternary value bits
//     outside the mask, LPM host bits set, range low > high, a priority that is
//     zero for a table with ternary/range/optional fields or non-zero for an
//     exact-only table, a missing action on INSERT, a TableAction kind that does
//     not fit the table (direct action on the action-selector table, member or
//     group on a direct table), is_const set, INSERT or DELETE of a default entry,
//     a default entry with a match or a priority, direct resources the table does
//     not have (meter_config, meter_counter_data, counter_data on a table without
//     direct counter), idle-timeout fields (no linx table supports them), a zero
//     member or group ID, a non-positive weight, duplicate group members, a
//     max_size above the selector's max_group_size, a one-shot action set larger
//     than max_group_size, negative counter values, a negative counter index, a
//     non_ip entry for eth_type 0x0800 (IPv4 never reaches non_ip: table pdr
//     classifies it) or for a VLAN tag type (0x8100, 0x88a8: the match is on the
//     EtherType after the tag); in a MeterConfig a negative field, a zero rate or
//     burst, pir below cir, eburst set with pir != cir or pburst != cburst (an
//     srTCM), every field 0 (leave config unset to reset); a negative meter
//     index; a set_qos color action other than 0, 1, 2. Each message names the
//     field.
//   - PERMISSION_DENIED: an action used outside its P4Info scope (a TABLE_ONLY
//     action as default action, a DEFAULT_ONLY action in an entry or a member), and
//     any MODIFY of a default entry whose default action is const
//     ("Default Entry").
//   - RESOURCE_EXHAUSTED: a group with more members than its max_size (or the
//     selector's max_group_size when max_size is 0).
//   - UNIMPLEMENTED: the deprecated int32 field watch of group members and
//     one-shot actions (watch_port is supported: a port number of 16 bits, a
//     value that cannot be one — 0 or wider — is INVALID_ARGUMENT, and the
//     server refuses a port that does not exist with INVALID_ARGUMENT, as the
//     spec's "ActionProfileGroup" section requires).
//
// # Where linx is more lenient or stricter than the letter of the specification
//
//   - A ternary value string longer than its mask string (the spec's pseudo-code
//     asserts value.size() <= mask.size()) is accepted when value&mask == value
//     numerically: lengths carry no meaning once padding is allowed.
//   - Negative priorities are rejected (INVALID_ARGUMENT): the spec only asks for
//     a non-zero priority, but data-path priorities are unsigned and ONOS sends
//     1..2^24.
//   - A group with max_size 0 is accepted although max_group_size is set (the spec
//     asks clients for max_size > 0 but names no error); max_group_size then
//     bounds it. An empty watch_port (or watch 0) is accepted as "no watch port"
//     and is not part of the canonical form; a padded watch_port reads back
//     canonical, like every bytestring.
//   - Groups and one-shot action sets may be empty, as the spec allows; the data
//     path cannot hold an empty LBR, so the server treats one like a missing LBR
//     (packets drop, like a table miss).
//
// Semantic checks that need the data path's configuration (unicast tunnel
// addresses, port and tunnel IDs in range, total LBR weight) are left to package
// dataplane, whose errors wrap dataplane.ErrInvalid (map them to
// INVALID_ARGUMENT).
package translate
