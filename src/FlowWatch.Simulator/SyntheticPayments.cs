using System.Globalization;
using System.Text;

namespace FlowWatch.Simulator;

/// <summary>
/// Plain synthetic payment traffic: many entities over all account kinds, a stable set of counterparties each,
/// log-normal amounts, mostly CNY and mostly compliant, time advancing steadily; with
/// <paramref name="violationRate"/> &gt; 0 that share of events is turned into a plain rule violation (cash on
/// a zone account, foreign currency on the second line, a high-risk or sanctioned counterparty, an EFF account
/// used for investment). Deterministic per seed. Realistic in shape and size, not in behaviour.
/// </summary>
public sealed class SyntheticPayments(int entities, int seed, double violationRate = 0)
{
    private static readonly string[] Kinds = ["EFE", "EFN", "EFF", "FTE", "FTN", "FTI", "FTU", "NRA", "OSA"];
    private static readonly string[] CpKinds = ["OFFSHORE", "OFFSHORE", "OFFSHORE", "DOMESTIC", "DOMESTIC", "NRA", "FTE"];
    private static readonly string[] Countries = ["HK", "HK", "MO", "MY", "SG", "US", "DE"];
    private static readonly string[] BusinessPurposes = ["GOODS_TRADE", "GOODS_TRADE", "GOODS_TRADE", "SERVICE_TRADE", "PRIMARY_INCOME", "OTHER"];
    private static readonly string[] PersonalPurposes = ["SALARY", "LIVING", "MEDICAL", "TRAVEL"];
    private static readonly (string Code, decimal Weight)[] Currencies = [("CNY", 0.8m), ("USD", 0.12m), ("HKD", 0.05m), ("MOP", 0.03m)];

    private readonly Random _random = new(seed);

    public string ReferenceJson()
    {
        var json = new StringBuilder();
        json.Append("""{"parameters":{"penetrationKinds":["EFE"]},"fxRates":{"USD":7.10,"HKD":0.91,"MOP":0.88,"EUR":7.70},""");
        json.Append(""" "highRiskCountries":{"KP":"CALL_FOR_ACTION","VN":"INCREASED_MONITORING"},"sanctionsList":["Blue Lotus Trading"],"entities":[""");
        for (var i = 0; i < entities; i++)
        {
            if (i > 0) json.Append(',');
            json.Append(CultureInfo.InvariantCulture, $$"""{"entityId":"E{{i:D6}}","type":"{{(Kind(i) is "EFF" or "FTI" ? "INDIVIDUAL" : "CORPORATE")}}","ownersEquityPrevYear":"{{(i % 5 + 1) * 20_000_000}}","whitelisted":{{(i % 3 == 0 ? "true" : "false")}}}""");
        }
        json.Append("],\"accounts\":[");
        for (var i = 0; i < entities; i++)
        {
            if (i > 0) json.Append(',');
            json.Append(CultureInfo.InvariantCulture, $$"""{"account":"{{Kind(i)}}{{i:D7}}","kind":"{{Kind(i)}}","entityId":"E{{i:D6}}"}""");
        }
        json.Append("]}");
        return json.ToString();
    }

    /// <summary>Events as UTF-8 JSON lines, starting at <paramref name="start"/>, <paramref name="spacing"/> apart.</summary>
    public List<byte[]> Events(int count, DateTimeOffset start, TimeSpan spacing, string txnPrefix) =>
        KeyedEvents(count, start, spacing, txnPrefix).ConvertAll(e => e.Line);

    /// <summary>
    /// Events with the monitored account each is about: the key to produce them with, so that an entity's
    /// payments share a partition (every synthetic entity has one account).
    /// </summary>
    public List<SyntheticEvent> KeyedEvents(int count, DateTimeOffset start, TimeSpan spacing, string txnPrefix)
    {
        var lines = new List<SyntheticEvent>(count);
        var ts = start;
        for (var n = 0; n < count; n++)
        {
            var entity = _random.Next(entities);
            var kind = Kind(entity);
            var cpKind = CpKinds[_random.Next(CpKinds.Length)];
            var sameName = cpKind == "DOMESTIC" && _random.Next(3) == 0;
            // Mostly compliant traffic: second-line and personal payments in CNY, non-same-name EFE transfers as
            // goods under customs supervision, investment only by whitelisted entities.
            var personal = kind is "EFF" or "FTI";
            var currency = cpKind == "DOMESTIC" || personal ? "CNY" : PickCurrency();
            var purpose = personal ? PersonalPurposes[_random.Next(PersonalPurposes.Length)]
                : entity % 3 == 0 && _random.Next(10) == 0 ? "DIRECT_INVESTMENT"
                : BusinessPurposes[_random.Next(BusinessPurposes.Length)];
            var customs = kind == "EFE" && cpKind == "DOMESTIC" && !sameName;
            if (customs) purpose = "GOODS_TRADE";
            var country = Countries[_random.Next(Countries.Length)];
            var name = $"Counterparty {entity % 997}";
            var extra = "";
            if (violationRate > 0 && _random.NextDouble() < violationRate)
            {
                switch (_random.Next(5))
                {
                    case 0: extra = ",\"method\":\"CASH\""; break;
                    case 1: country = "KP"; break;
                    case 2: name = "BLUE LOTUS  trading"; break;
                    case 3: purpose = "SECURITIES_INVESTMENT"; break;
                    default:
                        if (cpKind == "DOMESTIC") currency = "USD";
                        else country = "VN";
                        break;
                }
            }
            var amount = Math.Round((decimal)Math.Exp(_random.NextDouble() * 6 + 7), 2);   // ~1,100 to ~440,000
            var counterparty = sameName ? $"DOM{entity:D7}" : $"CP{entity % 997:D4}-{_random.Next(12):D2}";
            var line = string.Create(CultureInfo.InvariantCulture,
                $$"""{"txnId":"{{txnPrefix}}{{n:D9}}","ts":"{{ts:yyyy-MM-ddTHH:mm:ss.fff}}+08:00","account":"{{kind}}{{entity:D7}}","direction":"{{(_random.Next(2) == 0 ? "IN" : "OUT")}}","amount":"{{amount}}","currency":"{{currency}}","cpAccount":"{{counterparty}}","cpKind":"{{cpKind}}"{{(sameName ? $",\"cpEntityId\":\"E{entity:D6}\"" : "")}},"cpName":"{{name}}","cpCountry":"{{country}}","purpose":"{{purpose}}"{{(customs ? ",\"customsSpecial\":true" : "")}}{{extra}},"bank":"BANK{{entity % 7}}"}""");
            lines.Add(new SyntheticEvent($"{kind}{entity:D7}", Encoding.UTF8.GetBytes(line)));
            ts += spacing;
        }
        return lines;
    }

    private static string Kind(int entity) => Kinds[entity % Kinds.Length];

    private string PickCurrency()
    {
        var roll = (decimal)_random.NextDouble();
        foreach (var (code, weight) in Currencies)
        {
            if (roll < weight) return code;
            roll -= weight;
        }
        return "CNY";
    }
}

/// <summary>One generated payment: its monitored account (the partition key) and its JSON line.</summary>
public readonly record struct SyntheticEvent(string Account, byte[] Line);
