using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace MlNetMedical.AutoML;

/// <summary>
/// PostgreSQL connection settings in the forms people write them: a URL
/// (<c>postgresql://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require&amp;application_name=x</c>, several hosts as
/// <c>h1:5432,h2:5433</c>, a socket folder percent-encoded as <c>%2Fvar%2Frun%2Fpostgresql</c>), libpq keywords
/// (<c>host=db dbname=studies sslmode=require</c>, values with spaces in single quotes) or an Npgsql connection string
/// (<c>Host=db;Database=studies</c>, recognised by its ';'). Every libpq option that Npgsql can honour is kept; any other
/// is an error, never dropped. Errors never contain the password; <see cref="Describe"/> and <see cref="Mask"/> give what
/// may be shown. A password left out comes from PGPASSWORD or the password file (<c>passfile=</c>, PGPASSFILE, ~/.pgpass).
/// </summary>
public static partial class PostgresConnection
{
    /// <summary>libpq options that Npgsql has no equivalent for.</summary>
    private static readonly string[] Unsupported =
    [
        "keepalives_count", "tcp_user_timeout", "replication", "sslcompression", "sslcertmode", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
        "ssl_min_protocol_version", "ssl_max_protocol_version", "gsslib", "gssdelegation", "service", "max_protocol_version", "min_protocol_version",
    ];

    /// <summary>libpq options this reader maps onto Npgsql's settings.</summary>
    public static readonly IReadOnlyList<string> Options =
    [
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "application_name", "fallback_application_name", "connect_timeout",
        "client_encoding", "options", "sslmode", "requiressl", "sslnegotiation", "sslcert", "sslkey", "sslpassword", "sslrootcert", "channel_binding",
        "gssencmode", "krbsrvname", "require_auth", "target_session_attrs", "load_balance_hosts", "keepalives", "keepalives_idle", "keepalives_interval",
    ];

    /// <summary>Reads <paramref name="text"/> in any of the three forms; bad input is an <see cref="ArgumentException"/> whose
    /// message names the option and never holds the password.</summary>
    public static NpgsqlConnectionStringBuilder Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.Length == 0) throw new ArgumentException("the PostgreSQL connection is empty");
        if (Scheme().Match(text) is { Success: true } scheme)
        {
            var name = scheme.Groups[1].Value.ToLowerInvariant();
            if (name is not ("postgresql" or "postgres"))
                throw new ArgumentException($"'{name}://' is not a PostgreSQL URL; expected postgresql://USER@HOST:PORT/DATABASE?OPTION=VALUE");
            return FromUrl(text[scheme.Length..]);
        }
        return text.Contains(';') ? FromNpgsql(text) : FromKeywords(text);
    }

    /// <summary>What may be shown of a connection: user, hosts, database and the options that matter, with the password hidden.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder b)
    {
        var hosts = b.Host is null ? "(host from PGHOST)" : b.Host.Contains(',') ? b.Host : $"{(b.Host.Contains(':') ? $"[{b.Host}]" : b.Host)}:{b.Port}";
        var parts = new List<string> { $"sslmode={Kebab(b.SslMode.ToString())}" };
        if (b.TargetSessionAttributes is { } attributes) parts.Add($"target_session_attrs={attributes}");
        if (b.ApplicationName is { } application) parts.Add($"application_name={application}");
        parts.Add(b.Password is null ? (b.Passfile is null ? "password from PGPASSWORD or ~/.pgpass" : "password from the passfile") : "password hidden");
        return $"postgresql://{(b.Username is null ? "" : b.Username + "@")}{hosts}/{b.Database} ({string.Join(", ", parts)})";
    }

    /// <summary><paramref name="text"/> with every password (URL user info, password= and sslpassword= values) replaced by ***.</summary>
    public static string Mask(string text)
    {
        if (Scheme().Match(text) is { Success: true } scheme)
        {
            var rest = text[scheme.Length..];
            int end = rest.IndexOfAny(['/', '?']);
            var authority = end < 0 ? rest : rest[..end];
            int at = authority.LastIndexOf('@');
            int colon = at < 0 ? -1 : authority.IndexOf(':');
            if (colon >= 0 && colon < at) text = text[..scheme.Length] + authority[..(colon + 1)] + "***" + rest[at..];
        }
        return PasswordValue().Replace(text, m => m.Groups[1].Value + "***");
    }

    // ---- the three forms ---------------------------------------------------------------------------------------------

    private static NpgsqlConnectionStringBuilder FromNpgsql(string text)
    {
        // Npgsql's own messages name the keyword, not the value; its inner exceptions (which may quote a value) are dropped.
        try { return new NpgsqlConnectionStringBuilder(text); }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // "Password=a;b=c": the keyword Npgsql names may be the rest of the password.
            var segments = text.Split(';');
            var afterPassword = segments.Skip(1).Where((_, i) => PasswordValue().IsMatch(segments[i])).Select(s => s.Split('=')[0].Trim());
            bool secret = e is ArgumentException { ParamName: { } named } && afterPassword.Contains(named.Trim(), StringComparer.OrdinalIgnoreCase);
            throw new ArgumentException("not a valid Npgsql connection string (Key=Value;...)"
                                        + (secret ? "; quote a password that holds ';' (Password=\"...\")" : $": {e.Message}"));
        }
    }

    private static NpgsqlConnectionStringBuilder FromKeywords(string text)
    {
        var settings = new Settings();
        int i = 0;
        string? previous = null;
        bool previousQuoted = false;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i == text.Length) break;
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] != '=') i++;
            var key = text[start..i];
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i == text.Length || text[i] != '=' || !Keyword().IsMatch(key))
            {
                // An unquoted password with a space in it reaches here: its second half must not be echoed.
                if (previous is "password" or "sslpassword" && !previousQuoted && !Options.Contains(key.ToLowerInvariant()))
                    throw new ArgumentException($"what follows the {previous} is not KEY=VALUE; a value with spaces goes in single quotes ({previous}='...')");
                throw new ArgumentException(Keyword().IsMatch(key) ? $"expected '=' after '{key}'; libpq keywords are KEY=VALUE" : $"expected KEY=VALUE at character {start + 1}");
            }
            i++;
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            var value = new StringBuilder();
            bool quoted = i < text.Length && text[i] == '\'';
            if (quoted)
            {
                i++;
                while (true)
                {
                    if (i == text.Length) throw new ArgumentException($"the value of '{key}' has no closing quote");
                    if (text[i] == '\\' && i + 1 < text.Length) { value.Append(text[i + 1]); i += 2; continue; }
                    if (text[i] == '\'') { i++; break; }
                    value.Append(text[i++]);
                }
            }
            else
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    if (text[i] == '\\' && i + 1 < text.Length) i++;
                    value.Append(text[i++]);
                }
            try { settings.Apply(key.ToLowerInvariant(), value.ToString()); }
            catch (ArgumentException) when (previous is "password" or "sslpassword" && !previousQuoted && !Options.Contains(key.ToLowerInvariant()))
            {
                // "password=a b=c": b may be the rest of the password; say so without echoing it.
                throw new ArgumentException($"what follows the {previous} is not a known KEY=VALUE; a value with spaces goes in single quotes ({previous}='...')");
            }
            (previous, previousQuoted) = (key.ToLowerInvariant(), quoted);
        }
        return settings.Build();
    }

    private static NpgsqlConnectionStringBuilder FromUrl(string rest)
    {
        var settings = new Settings();
        int end = rest.IndexOfAny(['/', '?']);
        var authority = end < 0 ? rest : rest[..end];
        var tail = end < 0 ? "" : rest[end..];
        int at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            int colon = userInfo.IndexOf(':');
            if (colon < 0) settings.Apply("user", Decode(userInfo, "the user name"));
            else
            {
                settings.Apply("user", Decode(userInfo[..colon], "the user name"));
                settings.Apply("password", Decode(userInfo[(colon + 1)..], "the password"));
            }
            authority = authority[(at + 1)..];
        }
        if (authority.Length > 0) settings.Hosts(ParseHosts(authority));
        var query = "";
        if (tail.StartsWith('/'))
        {
            int q = tail.IndexOf('?');
            var database = Decode(q < 0 ? tail[1..] : tail[1..q], "the database name");
            if (database.Length > 0) settings.Apply("dbname", database);
            query = q < 0 ? "" : tail[(q + 1)..];
        }
        else if (tail.StartsWith('?')) query = tail[1..];
        string? previous = null;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            // After a password, an item that does not read may be the rest of it (a raw '&'): it is not echoed.
            bool afterPassword = previous is "password" or "sslpassword";
            const string encodeHint = "percent-encode '&', '=' and '%' inside values (%26, %3D, %25)";
            int equals = pair.IndexOf('=');
            if (equals <= 0)
                throw new ArgumentException(afterPassword || equals == 0
                    ? $"the URL's query has an item that is not OPTION=VALUE; {encodeHint}"
                    : $"the URL's query has '{Decode(pair, "an option name")}' without '=VALUE'");
            var key = Decode(pair[..equals], "an option name").ToLowerInvariant();
            try { settings.Apply(key, Decode(pair[(equals + 1)..], key is "password" or "sslpassword" ? "the password" : $"option '{key}'")); }
            catch (ArgumentException) when (afterPassword && !Options.Contains(key))
            {
                throw new ArgumentException($"what follows the {previous} in the URL's query is not a known OPTION=VALUE; {encodeHint}");
            }
            previous = key;
        }
        return settings.Build();
    }

    /// <summary>"h1:5432,[::1]:5433,%2Ftmp": (host, port or null) per entry.</summary>
    private static List<(string Host, int? Port)> ParseHosts(string authority)
    {
        var hosts = new List<(string, int?)>();
        foreach (var entry in authority.Split(','))
        {
            string host, port = "";
            if (entry.StartsWith('['))
            {
                int close = entry.IndexOf(']');
                if (close < 0) throw new ArgumentException("the URL's host has a '[' without its ']' (an IPv6 address is written [::1])");
                host = entry[1..close];
                var after = entry[(close + 1)..];
                if (after.Length > 0 && !after.StartsWith(':')) throw new ArgumentException("the URL's host has text after its ']' (expected [ADDRESS]:PORT)");
                port = after.Length > 0 ? after[1..] : "";
            }
            else
            {
                int colon = entry.IndexOf(':');
                host = colon < 0 ? entry : entry[..colon];
                port = colon < 0 ? "" : entry[(colon + 1)..];
            }
            // Not echoed: with a raw '/' in a password, the password's end lands here.
            hosts.Add((Decode(host, "the host"), port.Length == 0 ? null : Port(port, echo: false)));
        }
        return hosts;
    }

    private static int Port(string text, bool echo = true) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port
            : throw new ArgumentException(echo ? $"the port '{text}' is not a number in 1..65535"
                                               : "the URL's port is not a number in 1..65535 (percent-encode '/', '@' and ':' in a password: %2F, %40, %3A)");

    /// <summary>Percent-decoding as in a URL (UTF-8); a bad escape is an error that does not quote the text (it may be a password).</summary>
    private static string Decode(string text, string what)
    {
        if (!text.Contains('%')) return text;
        var bytes = new List<byte>();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '%') { bytes.AddRange(Encoding.UTF8.GetBytes(text[i].ToString())); continue; }
            if (i + 2 >= text.Length || !byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
                throw new ArgumentException($"{what} in the URL has a bad percent escape: '%' must be followed by two hex digits");
            bytes.Add(b);
            i += 2;
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static string Kebab(string name) => name switch
    {
        "VerifyCA" => "verify-ca",
        "VerifyFull" => "verify-full",
        _ => name.ToLowerInvariant(),
    };

    /// <summary>libpq options collected in order (later ones win, as in libpq), then turned into Npgsql's settings.</summary>
    private sealed class Settings
    {
        private readonly NpgsqlConnectionStringBuilder _b = new();
        private List<(string Host, int? Port)> _hosts = [];
        private int? _port;
        private string? _fallbackApplicationName;

        public void Hosts(List<(string, int?)> hosts) => _hosts = hosts;

        public void Apply(string key, string value)
        {
            switch (key)
            {
                case "host": _hosts = value.Split(',').Select(h => (h.Trim(), (int?)null)).ToList(); break;
                case "hostaddr": if (_hosts.Count == 0) _hosts = [(value, null)]; break; // the address to connect to; host, when given, names it
                case "port":
                    var ports = value.Split(',').Select(p => Port(p.Trim())).ToList();
                    if (ports.Count == 1) _port = ports[0];
                    else if (ports.Count == _hosts.Count) _hosts = _hosts.Select((h, i) => (h.Host, (int?)ports[i])).ToList();
                    else throw new ArgumentException($"'port' lists {ports.Count} ports for {_hosts.Count} hosts");
                    break;
                case "dbname": _b.Database = value; break;
                case "user": _b.Username = value; break;
                case "password": _b.Password = value; break;
                case "passfile": _b.Passfile = value; break;
                case "application_name": _b.ApplicationName = value; break;
                case "fallback_application_name": _fallbackApplicationName = value; break;
                case "connect_timeout": _b.Timeout = Integer(key, value, 0, 1024); break;
                case "client_encoding": _b.ClientEncoding = value; break;
                case "options": _b.Options = value; break;
                case "sslmode":
                    _b.SslMode = OneOf(key, value, ("disable", SslMode.Disable), ("allow", SslMode.Allow), ("prefer", SslMode.Prefer),
                        ("require", SslMode.Require), ("verify-ca", SslMode.VerifyCA), ("verify-full", SslMode.VerifyFull));
                    break;
                case "requiressl": _b.SslMode = OneOf(key, value, ("1", SslMode.Require), ("0", SslMode.Prefer)); break;
                case "sslnegotiation": _b.SslNegotiation = OneOf(key, value, ("postgres", SslNegotiation.Postgres), ("direct", SslNegotiation.Direct)); break;
                case "sslcert": _b.SslCertificate = value; break;
                case "sslkey": _b.SslKey = value; break;
                case "sslpassword": _b.SslPassword = value; break;
                case "sslrootcert": _b.RootCertificate = value; break;
                case "channel_binding":
                    _b.ChannelBinding = OneOf(key, value, ("disable", ChannelBinding.Disable), ("prefer", ChannelBinding.Prefer), ("require", ChannelBinding.Require));
                    break;
                case "gssencmode":
                    _b.GssEncryptionMode = OneOf(key, value, ("disable", GssEncryptionMode.Disable), ("prefer", GssEncryptionMode.Prefer), ("require", GssEncryptionMode.Require));
                    break;
                case "krbsrvname": _b.KerberosServiceName = value; break;
                case "require_auth": _b.RequireAuth = value; break;
                case "target_session_attrs":
                    _b.TargetSessionAttributes = OneOf(key, value, ("any", "any"), ("read-write", "read-write"), ("read-only", "read-only"),
                        ("primary", "primary"), ("standby", "standby"), ("prefer-standby", "prefer-standby"));
                    break;
                case "load_balance_hosts": _b.LoadBalanceHosts = OneOf(key, value, ("disable", false), ("random", true)); break;
                case "keepalives": _b.TcpKeepAlive = OneOf(key, value, ("1", true), ("0", false)); break;
                case "keepalives_idle": _b.TcpKeepAlive = true; _b.TcpKeepAliveTime = Integer(key, value, 1, int.MaxValue); break;
                case "keepalives_interval": _b.TcpKeepAlive = true; _b.TcpKeepAliveInterval = Integer(key, value, 1, int.MaxValue); break;
                default:
                    throw new ArgumentException(Array.IndexOf(Unsupported, key) >= 0
                        ? $"option '{key}' is a libpq option that the PostgreSQL client used here (Npgsql) cannot honour; leave it out"
                        : $"unknown option '{key}'; the options understood are {string.Join(", ", Options)}");
            }
        }

        public NpgsqlConnectionStringBuilder Build()
        {
            if (_hosts.Count == 1)
            {
                _b.Host = _hosts[0].Host;
                if ((_hosts[0].Port ?? _port) is { } port) _b.Port = port;
            }
            else if (_hosts.Count > 1)
                _b.Host = string.Join(",", _hosts.Select(h => $"{(h.Host.Contains(':') ? $"[{h.Host}]" : h.Host)}:{h.Port ?? _port ?? 5432}"));
            if (_b.ApplicationName is null && _fallbackApplicationName is not null) _b.ApplicationName = _fallbackApplicationName;
            return _b;
        }

        private static int Integer(string key, string value, int min, int max) =>
            int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n
                : throw new ArgumentException($"option '{key}' is '{value}'; expected a whole number in {min}..{(max == int.MaxValue ? "" : max)}");

        private static T OneOf<T>(string key, string value, params (string Name, T Value)[] allowed)
        {
            foreach (var (name, result) in allowed)
                if (string.Equals(name, value, StringComparison.OrdinalIgnoreCase)) return result;
            throw new ArgumentException($"option '{key}' is '{value}'; expected one of {string.Join(", ", allowed.Select(a => a.Name))}");
        }
    }

    [GeneratedRegex(@"^([A-Za-z][A-Za-z0-9+.\-]*)://")]
    private static partial Regex Scheme();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Keyword();

    // password= and sslpassword= in libpq keywords, URL queries and Npgsql strings ("SSL Password"), quoted or not.
    [GeneratedRegex(@"(?i)(\b(?:ssl[ _]?)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|""(?:[^""]|"""")*""?|[^\s;&]*)")]
    private static partial Regex PasswordValue();
}
