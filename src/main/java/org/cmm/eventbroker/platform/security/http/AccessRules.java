package org.cmm.eventbroker.platform.security.http;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The declarative table of one HTTP server: which roles (or scopes) may call which method on which path. One rule per
 * configuration key ({@code <prefix><name> = <METHODS> <path-pattern> -> <who>}), e.g.
 * {@code cmm.access.http.rule.alert-acknowledgements = POST /device-alerts/*\/ack -> clinician}. In a path pattern
 * {@code *} is one path segment and a trailing {@code **} any number of them; {@code <who>} is a comma-separated list of
 * roles or scopes (any one suffices), {@code authenticated} (any valid token) or {@code open} (no token needed, for
 * probes). When several rules match a request, the most specific one decides (most literal segments); a request no
 * rule matches is refused (deny by default).
 */
public final class AccessRules {

    /** Who may call a rule's paths. */
    public record Rule(String name, Set<String> methods, String pattern, Set<String> roles, boolean open,
            boolean anyAuthenticated) {

        boolean matches(String method, String path) {
            return (methods.contains("*") || methods.contains(method.toUpperCase(Locale.ROOT)))
                    && pathMatches(pattern, path);
        }

        private int literalSegments() {
            return (int) Arrays.stream(pattern.split("/")).filter(s -> !s.isEmpty() && !s.startsWith("*")).count();
        }

        /** Whether a caller holding these roles may call. */
        public boolean allows(Caller caller) {
            return open || (caller != null && (anyAuthenticated || caller.holdsAny(roles)));
        }
    }

    private final List<Rule> rules;

    private AccessRules(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    /** Reads every {@code <prefix><name>} entry; fails naming the key of a rule it cannot read. */
    public static AccessRules parse(String prefix, Map<String, String> entries) {
        List<Rule> rules = new ArrayList<>();
        entries.forEach((key, value) -> {
            if (key.startsWith(prefix)) {
                rules.add(rule(key, key.substring(prefix.length()), value));
            }
        });
        rules.sort(Comparator.comparing(Rule::name));
        return new AccessRules(rules);
    }

    public List<Rule> rules() {
        return rules;
    }

    /** The rule that decides a request, if any. */
    public Optional<Rule> find(String method, String path) {
        return rules.stream().filter(r -> r.matches(method, path))
                .max(Comparator.comparingInt(Rule::literalSegments)
                        .thenComparing(r -> !r.pattern().endsWith("**")));
    }

    private static Rule rule(String key, String name, String value) {
        String[] sides = value.split("->");
        String[] request = sides[0].trim().split("\\s+");
        if (sides.length != 2 || request.length != 2 || !request[1].startsWith("/")) {
            throw new IllegalArgumentException(key + " must read '<METHODS> /path/pattern -> role[,role...]' (or -> "
                    + "authenticated, -> open), got '" + value + "'");
        }
        Set<String> methods = Arrays.stream(request[0].split(",")).map(m -> m.trim().toUpperCase(Locale.ROOT))
                .filter(m -> !m.isEmpty()).collect(Collectors.toUnmodifiableSet());
        Set<String> who = Arrays.stream(sides[1].split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
        if (methods.isEmpty() || who.isEmpty()) {
            throw new IllegalArgumentException(key + ": no method or no role in '" + value + "'");
        }
        boolean open = who.contains("open");
        boolean any = who.contains("authenticated");
        if ((open || any) && who.size() > 1) {
            throw new IllegalArgumentException(key + ": 'open' and 'authenticated' stand alone, got '" + value + "'");
        }
        return new Rule(name, methods, request[1], open || any ? Set.of() : who, open, any);
    }

    static boolean pathMatches(String pattern, String path) {
        String[] p = pattern.split("/", -1);
        String[] s = path.split("/", -1);
        for (int i = 0; i < p.length; i++) {
            if ("**".equals(p[i]) && i == p.length - 1) {
                return s.length >= p.length - 1;
            }
            if (i >= s.length) {
                return false;
            }
            if ("*".equals(p[i])) {
                if (s[i].isEmpty()) {
                    return false;
                }
            } else if (!p[i].equals(s[i])) {
                return false;
            }
        }
        return p.length == s.length;
    }
}
