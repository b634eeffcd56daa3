/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The KEY=VALUE words of a shell command (linxctl's syntax: {@code port=2 src=172.16.1.1}),
 * with each key's aliases. Unknown keys, repeated keys, words without '=' and missing
 * required keys are refused with a message that lists what the command takes.
 */
public final class KeyValues {

    private final String what;
    private final Map<String, String> canonical = new LinkedHashMap<>();
    private final Map<String, String> values = new LinkedHashMap<>();

    /**
     * Parses words against the keys a command takes.
     *
     * @param what  the command's object, for messages ("tunnel", "pdr")
     * @param words the words, or null for none
     * @param keys  each key as "name" or "name|alias|alias"
     * @throws IllegalArgumentException for a word that is not a known KEY=VALUE
     */
    public KeyValues(String what, List<String> words, String... keys) {
        this.what = what;
        for (String k : keys) {
            String[] names = k.split("\\|");
            for (String n : names) {
                canonical.put(n, names[0]);
            }
        }
        if (words == null) {
            return;
        }
        for (String w : words) {
            int eq = w.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(what + ": \"" + w + "\" is not KEY=VALUE; keys: " + keys());
            }
            String key = canonical.get(w.substring(0, eq).toLowerCase(Locale.ROOT));
            if (key == null) {
                throw new IllegalArgumentException(what + ": unknown key \"" + w.substring(0, eq) + "\"; keys: "
                        + keys());
            }
            if (values.containsKey(key)) {
                throw new IllegalArgumentException(what + ": " + key + " is given twice");
            }
            String v = w.substring(eq + 1);
            if (v.isEmpty()) {
                throw new IllegalArgumentException(what + ": " + key + "= has no value");
            }
            values.put(key, v);
        }
    }

    private String keys() {
        return String.join(", ", new LinkedHashSet<>(canonical.values()));
    }

    /**
     * A key's value, if given.
     *
     * @param key the key's first name
     * @return the value
     */
    public Optional<String> get(String key) {
        return Optional.ofNullable(values.get(key));
    }

    /**
     * A key's value, which the command needs.
     *
     * @param key the key's first name
     * @return the value
     * @throws IllegalArgumentException if it is missing
     */
    public String required(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException(what + ": " + key + "= is required");
        }
        return v;
    }

    /**
     * True when the key was given.
     *
     * @param key the key's first name
     * @return whether it was given
     */
    public boolean has(String key) {
        return values.containsKey(key);
    }
}
