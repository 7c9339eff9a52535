/*
 * registry_gen.c - deterministic generator of registry-shaped synthetic
 * person records with ground truth, for measuring record linkage and
 * deduplication (sp_registry benchmarks and tests).
 *
 *   tools/registry_gen --records N [--seed S] [--dup-rate R] [--no-header]
 *
 *   --records N    number of output records (1 .. 100000000).  The output has
 *                  exactly N records: the last household may be cut short, and
 *                  the last few households get no duplicates, to land on N.
 *   --seed S       any unsigned 64-bit integer (default 1).
 *   --dup-rate R   share of households registered a second time, 0 .. 1
 *                  (default 0.15; up to 6 decimals are used).
 *   --no-header    omit the CSV header line.
 *
 * Output: CSV (RFC 4180, UTF-8, LF line ends) on stdout with the columns
 *   id,entity,household,submission,given_name,family_name,birth_date,
 *   birth_precision,sex,national_id,phone,admin_area_code,relationship,tags
 * Records with the same `entity` are the same human (the ground truth for
 * linkage); `tags` says which errors and hard cases a record carries.  See
 * tools/README.md for the columns and a table of every rate.
 *
 * WHAT IS MODELLED (for DBAs and analysts)
 *
 * A country in the shape of a national social registry (Somali P-codes):
 * 18 regions, 4-8 districts each, and about one village per 1,500 true
 * persons (at least 20), P-code SO + region(2) + district(2) + village(3).
 * Villages differ in size and are mostly of one of three name cultures
 * (60 / 25 / 15 %):
 *   0. Somali/Arabic names, patronymic (a child's family name is the
 *      father's given name; a wife keeps her own), Latin spellings with
 *      variants (Mohamed/Mohammed/Maxamed) and an Arabic-script form;
 *   1. East African (Kenyan) names, Latin only, inherited family names
 *      (a wife takes her husband's in 60 % of marriages), each village
 *      preferring 5-10 family names (clans);
 *   2. Ethiopian names, patronymic, with an Ethiopic-script form.
 * Names are drawn with a Zipf-Mandelbrot law (weight 1/(rank + q), i.e.
 * exponent 1), so a few names are very common: the top Somali male name is
 * borne by about 8 % of men, and as patronymic it is as common a family name.
 *
 * Households (1..12 persons, mean about 4.8): a head (male 70 %), usually a
 * spouse, children born 17-45 years after their mother (adult children have
 * mostly left), sometimes a parent or sibling of the head, grandchildren and
 * others.  2 % of births are twins; 5 % of sons carry their father's given
 * name (in culture 1 his full name); in cultures 0 and 2 another 5 % carry
 * their grandfather's.  Adults (born 1940-2007) have a national ID with
 * probability 0.75, unique per person; phones are owned by heads, spouses
 * and other adults at 80 / 45 / 30 % and lent to the other members.  The
 * reference year is 2025 (a constant, never the clock).
 *
 * Registrations: every household is registered once; a share R of them is
 * registered again (10 % of those a third time), whole or in part, in the
 * same village, the same district or another region; 2 % of persons are also
 * registered alone in another household.  Every registration records its own
 * values: spelling variants, typos, swapped names, names in script, year-only
 * or missing birth dates, date typos, omitted or mistyped IDs, new or
 * omitted phones in varying formats, and rarely a flipped sex (tag
 * sex_typo).  First registrations get the same errors at half the rate.
 * First registrations come first in a shuffled household order, then all
 * duplicates shuffled.  A re-registration of part of a household always
 * includes an adult, who becomes its head; relationships are restated
 * relative to that head.
 *
 * DETERMINISM
 *
 * The same arguments give byte-identical output on every machine: the only
 * randomness is xoshiro256** (Blackman & Vigna), seeded through splitmix64
 * from the seed and a stream key (household number, registration number,
 * ...), so each household and each registration has its own independent
 * stream.  All probabilities are integers in parts per million and all
 * arithmetic on random values is integer arithmetic: no floating point, no
 * rand(), no locale, no clock, no hash-table iteration order.
 *
 * Memory is about 20 bytes per household plus the duplicate plan; a
 * household's members are re-derived from its stream whenever they are
 * needed.  Build: cc -std=c11 -O2 -Wall -Wextra -Werror -pedantic
 *                    -o tools/registry_gen tools/registry_gen.c -lm
 * Exit status: 0 ok, 1 write error (EPIPE, ENOSPC, ...), 2 bad arguments,
 * 3 out of memory.  With REGISTRY_GEN_STATS set in the environment, counts
 * of households, villages, persons and tags are printed to stderr.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_YEAR      2025
#define ADULT_YEAR    (REF_YEAR - 18) /* born in or before: adult */
#define MIN_YEAR      1940
#define MAX_MEMBERS   12
#define MAX_CHILDREN  8
#define MAX_RECORDS   100000000ULL
#define PPM           1000000u
#define NAMEBUF       192

/* ------------------------------------------------------------------ */
/* Errors and memory                                                   */
/* ------------------------------------------------------------------ */

static void die_oom(void)
{
    fputs("registry_gen: out of memory\n", stderr);
    exit(3);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die_oom();
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die_oom();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die_oom();
    return q;
}

static void die_table(const char *what, const char *entry)
{
    fprintf(stderr, "registry_gen: internal error in name table: %s: %s\n", what, entry);
    exit(70);
}

static char *put_digits(char *p, uint32_t v, int width);

/* ------------------------------------------------------------------ */
/* PRNG: splitmix64 seeding, xoshiro256** streams                      */
/* ------------------------------------------------------------------ */

static uint64_t g_seed = 1;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t splitmix64(uint64_t *x)
{
    *x += 0x9e3779b97f4a7c15ULL;
    return mix64(*x);
}

typedef struct {
    uint64_t s[4];
} Rng;

/* Stream tags: every use of randomness has its own stream. */
enum { S_VILLAGE = 1, S_HOUSEHOLD, S_DUPPLAN, S_HOST, S_REG, S_SHUFFLE, S_MISC };

static void rng_stream(Rng *r, uint64_t tag, uint64_t a, uint64_t b)
{
    uint64_t x = mix64(g_seed ^ 0x6a09e667f3bcc909ULL);
    x = mix64(x ^ (tag * 0xd1b54a32d192ed03ULL));
    x = mix64(x ^ (a * 0xa0761d6478bd642fULL + 0x632be59bd9b4e019ULL));
    x = mix64(x ^ (b * 0xe7037ed1a0b428dbULL + 0x8ebc6af09c88c6e3ULL));
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(Rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform integer in [0, n), n <= 2^32 (multiply-shift, integer only). */
static uint32_t below(Rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* True with probability ppm / 1e6. */
static int chance(Rng *r, uint32_t ppm)
{
    return below(r, PPM) < ppm;
}

/* ------------------------------------------------------------------ */
/* Name tables                                                         */
/*   "Canonical|variant|variant...=script form"  (1-4 variants)        */
/*   Listed from most to least common: the rank drives the Zipf law.   */
/* ------------------------------------------------------------------ */

static const char *const SOM_MALE[] = {
    "Mohamed|Mohammed|Muhammad|Maxamed|Mohamad=محمد",
    "Ahmed|Ahmad|Axmed|Ahmet=أحمد",
    "Abdi|Cabdi|Abdy=عبدي",
    "Ali|Cali|Aly=علي",
    "Hassan|Xasan|Hasan|Hasson=حسن",
    "Abdullahi|Cabdullaahi|Abdallah|Abdulahi=عبدالله",
    "Hussein|Xuseen|Husein|Hussain=حسين",
    "Omar|Cumar|Umar|Omer=عمر",
    "Ibrahim|Ibraahim|Ibrahiim|Ebrahim=إبراهيم",
    "Abdirahman|Cabdiraxmaan|Abdulrahman|Abdirahmaan=عبدالرحمن",
    "Yusuf|Yuusuf|Yousuf|Yusef=يوسف",
    "Osman|Cusmaan|Othman|Usman=عثمان",
    "Mohamud|Maxamuud|Mahmoud|Mohamoud=محمود",
    "Adan|Aadan|Adam|Aden=آدم",
    "Farah|Faarax|Fara=فارح",
    "Ismail|Ismaaciil|Ismael|Ismacil=إسماعيل",
    "Abdirashid|Cabdirashiid|Abdirasheed=عبدالرشيد",
    "Abdikadir|Cabdiqaadir|Abdulkadir|Abdiqadir=عبدالقادر",
    "Said|Saciid|Saeed|Siciid=سعيد",
    "Jama|Jaamac|Jamac=جامع",
    "Nur|Nuur|Noor=نور",
    "Yasin|Yaasiin|Yassin=ياسين",
    "Abdiaziz|Cabdicasiis|Abdulaziz|Abdiasis=عبدالعزيز",
    "Mustafa|Mustafe|Mustaf=مصطفى",
    "Khalid|Khaalid|Khaled=خالد",
    "Abdikarim|Cabdikariim|Abdulkarim=عبدالكريم",
    "Suleiman|Suleymaan|Sulaiman|Suleman=سليمان",
    "Musa|Muuse|Moussa=موسى",
    "Isse|Ciise|Issa|Isa=عيسى",
    "Salah|Saalax|Saleh=صلاح",
    "Bashir|Bashiir|Basher=بشير",
    "Abdiwali|Cabdiwali|Abdulwali=عبدالولي",
    "Hashi|Xaashi|Hashy=حاشي",
    "Warsame|Warsama|Warsaame=ورسمه",
    "Guled|Guuleed|Guleed=غوليد",
    "Abdinasir|Cabdinaasir|Abdulnasir=عبدالناصر",
    "Dahir|Daahir|Tahir=طاهر",
    "Abdisalam|Cabdisalaan|Abdulsalam=عبدالسلام",
    "Sharif|Shariif|Sherif=شريف",
    "Aweys|Aweis|Awes|Uways=أويس",
    "Abdifatah|Cabdifitaax|Abdulfatah=عبدالفتاح",
    "Hamza|Xamse|Hamse=حمزة",
    "Idris|Idiris|Idriss=إدريس",
    "Mahad|Mahat|Mahaad=مهد",
    "Abdirizak|Cabdirisaaq|Abdirazak|Abdulrazak=عبدالرزاق",
    "Bile|Bille|Biile=بلي",
    "Elmi|Cilmi|Ilmi=علمي",
    "Hirsi|Xirsi|Hersi=حرسي",
    "Jibril|Jibriil|Jibreel=جبريل",
    "Kassim|Qaasim|Qasim|Kasim=قاسم",
    "Awil|Cawil|Awill=عويل",
    "Abdiqani|Cabdiqani|Abdulghani=عبدالغني",
    "Mukhtar|Mukhtaar|Muktar=مختار",
    "Hamid|Xaamid|Hamed=حامد",
    "Sadiq|Saadiq|Sadik=صادق",
    "Rashid|Rashiid|Rasheed=رشيد",
    "Hakim|Xakiim|Hakeem=حكيم",
    "Abdinur|Cabdinuur|Abdinoor=عبدالنور",
    "Liban|Liibaan|Libaan=ليبان",
    "Abdishakur|Cabdishakuur|Abdulshakur=عبدالشكور",
    "Zakaria|Sakariye|Zakariya=زكريا",
    "Yahya|Yaxye|Yahye=يحيى",
    "Nasir|Naasir|Nassir=ناصر",
    "Abdihakim|Cabdixakiim|Abdulhakim=عبدالحكيم",
    "Salad|Salaad|Salat=صلاد",
    "Haji|Xaaji|Hajji=حاجي",
    "Sheikh|Sheekh|Shekh=شيخ",
    "Geedi|Gedi|Gedy=جيدي",
    "Abdirahim|Cabdiraxiim|Abdulrahim=عبدالرحيم",
    "Dualeh|Ducaale|Duale=دعالي",
    "Ilyas|Ilyaas|Elias=إلياس",
    "Anwar|Anwaar|Anuar=أنور",
    "Faisal|Faysal|Feisal=فيصل",
    "Samatar|Samater|Samatarr=سمتر",
    "Abukar|Abuukar|Abubakar|Abuubakar=أبوبكر",
    "Shire|Shiree|Shirre=شيري",
    "Gure|Guure|Guray=غوري",
    "Jamal|Jamaal|Gamal=جمال",
    "Ayub|Ayuub|Ayoub=أيوب",
    "Sufi|Suufi|Soofi=صوفي",
    "Hared|Xared|Harid=حارد",
    "Abdiwahab|Cabdiwahaab|Abdulwahab=عبدالوهاب",
    "Mahdi|Mahadi|Mehdi=مهدي",
    "Burhan|Burhaan|Burhane=برهان",
    "Tahlil|Taxliil|Tahliil=تحليل",
    "Deeq|Deq|Diiq=ديق",
    "Abshir|Abshiir|Abshire=أبشر",
    "Yonis|Yoonis|Younis|Yunus=يونس",
    "Bakar|Bakr|Baker=بكر",
    "Amin|Amiin|Ameen=أمين",
    "Hanad|Xanad|Hannad=هناد",
    "Salim|Saalim|Saleem=سالم",
    "Ugas|Ugaas|Ogas=أوغاس",
    "Waberi|Waaberi|Wabari=وابري",
    "Muhiyadin|Muxiyadiin|Mohyadin=محيي الدين",
    "Nuradin|Nuuradiin|Nuradeen=نور الدين",
    "Sharmarke|Sharmaarke|Sharmake=شرماركي",
    "Dirie|Diiriye|Diriye=ديريه",
    "Egal|Cigaal|Igal=عقال",
    "Roble|Rooble|Robleh=روبلي",
    "Abdalla|Cabdalla|Abdallah=عبدالله",
    "Fuad|Fuaad|Fouad=فؤاد",
    "Hamud|Xamuud|Hamoud=حمود",
    "Jimale|Jimcaale|Jimaale=جمعالي",
    "Kahin|Kaahin|Kahiin=كاهن",
    "Mumin|Muumin|Momin=مؤمن",
    "Nuh|Nuux|Nuuh=نوح",
    "Ridwan|Ridwaan|Redwan=رضوان",
    "Shakir|Shaakir|Shakiir=شاكر",
    "Wali|Waali|Wally=ولي",
    "Yasir|Yaasir|Yaser=ياسر",
    "Zubeyr|Subeyr|Zubair=زبير",
    "Abdimalik|Cabdimaalik|Abdulmalik=عبدالملك",
    "Abdijabar|Cabdijabaar|Abduljabbar=عبدالجبار",
    "Abdiqafar|Cabdiqafaar|Abdulghafar=عبدالغفار",
    "Bilal|Bilaal|Belal=بلال",
    "Daud|Daauud|Dawud|Dawood=داود",
    "Haroun|Haaruun|Harun=هارون",
    "Khadar|Khadir|Khader=خضر",
    "Luqman|Luqmaan|Lukman=لقمان",
    "Najib|Najiib|Nagib=نجيب",
    "Ramadan|Ramadaan|Ramazan=رمضان",
    "Shueib|Shuceyb|Shuaib=شعيب",
    "Usama|Usaama|Osama=أسامة",
    "Walid|Waliid|Waleed=وليد",
    "Yakub|Yacquub|Yaqub=يعقوب",
    "Hirad|Xirad|Hiraad=هيراد",
    "Keyse|Keysa|Qeyse=قيس",
    "Siyad|Siyaad|Siad=سياد",
    "Abdow|Cabdow|Abdo=عبدو",
    "Farhan|Farxaan|Farhaan=فرحان",
    "Mursal|Mursaal|Morsal=مرسل",
};

static const char *const SOM_FEMALE[] = {
    "Fatuma|Fatima|Faadumo|Fadumo=فاطمة",
    "Amina|Aamina|Aminah=آمنة",
    "Halima|Xaliimo|Halimo|Haleema=حليمة",
    "Hawa|Xaawo|Hawo|Haawa=حواء",
    "Khadija|Khadiija|Hadija|Kadija=خديجة",
    "Asha|Caasha|Aisha|Aysha=عائشة",
    "Maryan|Maryam|Mariam|Maryama=مريم",
    "Safiya|Safiyo|Saafiya|Sofia=صفية",
    "Sahra|Sahro|Zahra|Sahara=زهرة",
    "Hodan|Hodon|Hoodan=هودن",
    "Nasra|Nasro|Nasrah=نصرة",
    "Ayan|Ayaan|Ayana=أيان",
    "Sagal|Saagal|Sagaal=ساغال",
    "Deeqa|Deqa|Deeqo=ديقة",
    "Hibo|Hiba|Hiibo=هبة",
    "Ikran|Ikraan|Ikram=إكرام",
    "Zamzam|Samsam|Zemzem=زمزم",
    "Nimco|Nimo|Nima|Nimca=نعمة",
    "Sadia|Saadia|Sacdiyo|Sadiya=سعدية",
    "Ubah|Ubax|Ubaah=أوباخ",
    "Muna|Muuna|Mona=منى",
    "Anab|Canab|Aanab=عنب",
    "Hamdi|Xamdi|Hamdy=حمدي",
    "Hafsa|Xafso|Hafso=حفصة",
    "Rahma|Raxma|Rahmo=رحمة",
    "Fartun|Fartuun|Fartoon=فرتون",
    "Idil|Iidil|Ideel=إيديل",
    "Kaltun|Kaltuun|Kaltum|Kultum=كلثوم",
    "Ladan|Ladhan|Laadan=لادن",
    "Mulki|Mulkii|Molki=ملكي",
    "Naima|Nacima|Naciimo|Naeema=نعيمة",
    "Faiza|Faa'iso|Faysa|Faisa=فائزة",
    "Sumaya|Sumaiya|Sumayo|Sumaiyah=سمية",
    "Hinda|Hindo|Hind=هند",
    "Filsan|Filsaan|Filson=فلسن",
    "Warsan|Warsaan|Warson=ورسن",
    "Ruqiya|Ruqiyo|Roqia|Rukia=رقية",
    "Shukri|Shukria|Shukriya=شكري",
    "Samira|Samiira|Sameera=سميرة",
    "Luul|Lul|Lula=لول",
    "Habiba|Xabiiba|Habibo=حبيبة",
    "Hodo|Hoodo|Hodho=هودو",
    "Yasmin|Yaasmiin|Yasmeen=ياسمين",
    "Suad|Sucaad|Suaad=سعاد",
    "Nasteho|Nastexo|Nasteexo=نستيهو",
    "Barwaqo|Barwaaqo|Barwako=بروقو",
    "Hamda|Xamda|Hamdo=حمدة",
    "Istahil|Istaahil|Istaxil=استاهل",
    "Leyla|Layla|Leila|Laila=ليلى",
    "Bilan|Bilaan|Bilane=بلان",
    "Ilhan|Ilhaan|Ilham=إلهان",
    "Qamar|Qamaro|Kamar=قمر",
    "Saida|Saciida|Saeeda=سعيدة",
    "Zeinab|Saynab|Zainab|Seynab=زينب",
    "Dahabo|Dahab|Dhahabo=ذهبو",
    "Fardowsa|Firdowsa|Firdaus|Fardosa=فردوسة",
    "Hani|Hanni|Haani=هاني",
    "Jawahir|Jawaahir|Jawaher=جواهر",
    "Kowsar|Kawsar|Kausar=كوثر",
    "Najma|Najmo|Nadjma=نجمة",
    "Qali|Qaali|Kali=قالي",
    "Roda|Rooda|Rhoda=رودا",
    "Sabrin|Sabriin|Sabreen=صابرين",
    "Shamso|Shamsa|Shams=شمسة",
    "Yurub|Yuurub|Yorub=يوروب",
    "Ifrah|Ifraax|Ifra=إفراح",
    "Asli|Asly|Asali=أصلي",
    "Nafisa|Nafiso|Nafeesa=نفيسة",
    "Ebyan|Ebyaan|Abyan=أبيان",
    "Farhiya|Farxiyo|Farhiyo=فرحية",
    "Khadra|Khadro|Kadra=خضرة",
    "Mako|Maako|Maco=ماكو",
    "Nurto|Nuurto|Nurta=نورتو",
    "Osob|Cosob|Osoob=عسب",
    "Sucdi|Suddi|Sudi=سعدي",
    "Ruun|Run|Roon=رون",
    "Saado|Sado|Sa'ado=سعدو",
    "Cawo|Awo|Caawo=عاوو",
    "Fowsiya|Fawziya|Fowsia|Fawzia=فوزية",
    "Hoda|Huda|Hooda=هدى",
    "Iman|Imaan|Eman=إيمان",
    "Malyun|Malyuun|Malyoon=مليون",
    "Marwo|Marwa|Maarwo=مروة",
    "Salma|Salmo|Selma=سلمى",
    "Siham|Sihaam|Seham=سهام",
    "Sulekha|Suleekha|Sulekhe=سليخة",
    "Zuhur|Suhuur|Zuhuur=زهور",
    "Amal|Amaal|Amale=أمل",
    "Bahja|Baxja|Bahjo=بهجة",
    "Hibaq|Hibaaq|Hebaq=هباق",
    "Idman|Idmaan|Edman=إدمان",
    "Jamila|Jamiila|Gamila=جميلة",
    "Kinsi|Kinse|Kinsy=كنسي",
    "Mandeeq|Mandiq|Mandeq=منديق",
    "Nadifa|Nadiifo|Nadeefa=نظيفة",
    "Raho|Raxo|Rahoo=راحو",
    "Sara|Sarah|Saara=سارة",
    "Shamis|Shaamis|Shamiis=شامس",
    "Ugbad|Ugbaad|Ogbad=أغباد",
    "Waris|Waaris|Wariis=وارس",
    "Zakiya|Sakiya|Zakia=زكية",
    "Ardo|Aardo|Ardho=أردو",
    "Bushra|Bushro|Busra=بشرى",
    "Dunia|Dunya|Duniya=دنيا",
    "Haweya|Xaawiya|Hawiya=حاوية",
    "Iqra|Ikra|Iqraa=إقرأ",
    "Khalida|Khaalida|Khaleda=خالدة",
    "Latifa|Latiifo|Lateefa=لطيفة",
    "Mumina|Muumina|Momina=مؤمنة",
    "Nuura|Nura|Noora=نورة",
    "Raqiya|Raaqiya|Rakiya=راقية",
    "Sabiha|Sabiixa|Sabeeha=صبيحة",
    "Wafa|Wafaa|Wafo=وفاء",
    "Yusra|Yusro|Yousra=يسرى",
    "Aziza|Casiiso|Asiza=عزيزة",
    "Basra|Basro|Bosra=بصرة",
    "Hanan|Xanaan|Hanaan=حنان",
    "Ismahan|Ismaahaan|Esmahan=إسمهان",
    "Khayria|Khayriyo|Khairia=خيرية",
    "Najah|Najax|Najaah=نجاح",
    "Ramla|Ramlo|Ramlah=رملة",
    "Sundus|Sundis|Sondos=سندس",
    "Amran|Amraan|Camran=عمران",
    "Falis|Faalis|Faliss=فالس",
    "Huriya|Xuuriya|Houria=حورية",
    "Anisa|Aniisa|Aneesa=أنيسة",
};

static const char *const EA_MALE[] = {
    "John|Jon|Johnie|Yohana",
    "Peter|Petro|Piter",
    "Joseph|Josephat|Josef|Yusufu",
    "James|Jemes|Jamie",
    "David|Daudi|Davis",
    "Daniel|Danieli|Danny",
    "Samuel|Samwel|Samweli",
    "Paul|Paulo|Pol",
    "Stephen|Steven|Stefano",
    "Michael|Mikael|Micheal",
    "George|Jorge|Georgi",
    "Joshua|Joshuah|Yoshua",
    "Brian|Bryan|Brayan",
    "Kevin|Kelvin|Kevine",
    "Dennis|Denis|Denniss",
    "Moses|Musa|Mosses",
    "Patrick|Patric|Patriki",
    "Francis|Fransis|Francisco",
    "Charles|Charlz|Chales",
    "Simon|Simoni|Symon",
    "Anthony|Antony|Antoni",
    "Robert|Robat|Roberto",
    "Geoffrey|Jeffrey|Geofrey",
    "Collins|Colins|Colince",
    "Evans|Evance|Evan",
    "Victor|Viktor|Vicktor",
    "Isaac|Isaack|Isaka",
    "Emmanuel|Emanuel|Imanuel",
    "Benson|Bensen|Bensoni",
    "Wilson|Wilsoni|Willson",
    "Martin|Martini|Martine",
    "Thomas|Tomas|Tomasi",
    "Philip|Phillip|Filipo",
    "Edwin|Edwini|Edwine",
    "Richard|Rickard|Rikardo",
    "Vincent|Vincet|Vinsent",
    "Nicholas|Nicolas|Nikolas",
    "Alex|Alexander|Aleki",
    "Felix|Feliks|Felixe",
    "Eric|Erick|Erik",
    "Timothy|Timoth|Timotheo",
    "Gideon|Gedion|Gidion",
    "Elijah|Elija|Eliya",
    "Amos|Amosi|Ammos",
    "Duncan|Dankan|Duncun",
    "Kennedy|Kenedy|Kenndy",
    "Fredrick|Frederick|Fred",
    "Julius|Julias|Juliasi",
    "Andrew|Andrea|Endru",
    "Mark|Marko|Marc",
    "Titus|Tito|Titas",
    "Nelson|Nelsoni|Nelsen",
    "Bernard|Benard|Bernad",
    "Harrison|Harison|Harrisson",
    "Caleb|Kaleb|Kalebu",
    "Hillary|Hilary|Hilari",
    "Wycliffe|Wyclif|Wycliff",
    "Boniface|Bonface|Bonifasi",
    "Lawrence|Laurence|Lorence",
    "Christopher|Kristopher|Chris",
    "Ezekiel|Ezekiyel|Ezekieli",
    "Solomon|Selemani|Solomoni",
    "Abraham|Ibrahimu|Abrahamu",
    "Jacob|Jakobo|Yakobo",
    "Nathan|Nathaniel|Nathani",
    "Gabriel|Gabrieli|Gabryel",
    "Job|Jobu|Ayubu",
    "Silas|Sila|Silasi",
    "Enock|Enoch|Enocki",
    "Reuben|Ruben|Rubeni",
    "Cyrus|Sairus|Cyruss",
    "Isaiah|Isaya|Isaia",
    "Jeremiah|Jeremia|Yeremia",
    "Fidel|Fideli|Fidele",
    "Allan|Alan|Alani",
    "Maxwell|Maxwel|Maxi",
    "Edward|Edwad|Edwardi",
    "Kipchoge|Kipchogeh|Kipchoke",
    "Kiprono|Kipronoh|Kipruno",
    "Kibet|Kibett|Kibeti",
    "Otieno|Otiyeno|Otienno",
    "Ochieng|Ochieng'|Ochiengi",
    "Odhiambo|Odiambo|Odhyambo",
    "Onyango|Onyangho|Oniango",
    "Omondi|Omondy|Omundi",
    "Opiyo|Opio|Opiyoh",
    "Odongo|Odhongo|Odongoh",
    "Kamau|Kamao|Kamawu",
    "Mwangi|Mwangy|Mwanghi",
    "Njoroge|Njorogeh|Njorge",
    "Kariuki|Kariuky|Kariuk",
    "Baraka|Barack|Barakah",
    "Juma|Jumah|Djuma",
    "Hamisi|Hamis|Khamis",
    "Bakari|Bakary|Bakar",
    "Rashidi|Rashid|Rashiddi",
    "Salim|Salimu|Saleem",
    "Athumani|Athman|Othman",
    "Ramadhani|Ramadan|Ramathani",
    "Hassani|Hassan|Hasani",
    "Mwita|Mwitta|Mwitah",
    "Wafula|Wafulah|Waffula",
    "Wanjala|Wanjalla|Wanjalah",
    "Barasa|Barassa|Barasah",
    "Wekesa|Wekessa|Wekessah",
    "Mutua|Mutuah|Mutwa",
    "Musyoka|Musyokah|Musioka",
    "Kiptoo|Kiptoh|Kipto",
    "Cheruiyot|Cheruyot|Cheruiot",
    "Langat|Lang'at|Langatt",
    "Nyongesa|Nyongessa|Nyongeza",
    "Kimani|Kimanni|Kimany",
    "Gitau|Gitao|Gitawu",
    "Macharia|Macharya|Macharria",
    "Oduor|Odwor|Oduori",
    "Owino|Owinno|Owinoh",
    "Okoth|Okot|Okotth",
    "Kiplagat|Kiplaga|Kiplagatt",
    "Korir|Korrir|Korire",
    "Rotich|Rotik|Rottich",
    "Ngugi|Ngugy|Nguggi",
    "Muriuki|Muriuky|Muriukki",
    "Waweru|Wawero|Waweruh",
    "Mbugua|Mbuguah|Mbugwa",
    "Kyalo|Kyallo|Kialo",
    "Munyao|Muniao|Munyaw",
    "Obiero|Obyero|Obierro",
    "Wanyama|Wanyamma|Waniama",
    "Shadrack|Shadrach|Shadrak",
    "Meshack|Meshach|Mesheck",
    "Nickson|Nixon|Nikson",
    "Erastus|Erasto|Erastas",
};

static const char *const EA_FEMALE[] = {
    "Mary|Mery|Mariamu|Marie",
    "Grace|Gracie|Greis",
    "Jane|Jein|Jayne",
    "Faith|Feith|Faithe",
    "Esther|Ester|Esta",
    "Lucy|Lusi|Lucie",
    "Ann|Anne|Anna",
    "Elizabeth|Elisabeth|Eliza",
    "Margaret|Magret|Margret",
    "Sarah|Sara|Sarai",
    "Catherine|Katherine|Kathrine|Caterina",
    "Alice|Alis|Alisi",
    "Rose|Roze|Rosa",
    "Joyce|Joice|Joyse",
    "Nancy|Nansi|Nancie",
    "Susan|Suzan|Susana",
    "Caroline|Carolyne|Karoline",
    "Mercy|Mercie|Mersi",
    "Beatrice|Beatrise|Beatriz",
    "Agnes|Agness|Anyes",
    "Wanjiku|Wanjikku|Wanjikuh",
    "Achieng|Achieng'|Achiengi",
    "Akinyi|Akiny|Akinyii",
    "Atieno|Atiyeno|Atienno",
    "Wambui|Wambuy|Wambuii",
    "Njeri|Njery|Njerri",
    "Nyambura|Nyamburah|Niambura",
    "Wairimu|Wayrimu|Wairimmu",
    "Auma|Aumah|Awuma",
    "Adhiambo|Adiambo|Adhyambo",
    "Anyango|Aniango|Anyangoh",
    "Apiyo|Apio|Apiyoh",
    "Adongo|Adhongo|Adongoh",
    "Chebet|Chebett|Chebeth",
    "Chepkoech|Chepkoec|Chepkoetch",
    "Jepkosgei|Jepkosge|Jepkosgey",
    "Cherono|Cheronoh|Cheruno",
    "Nafula|Nafulah|Naffula",
    "Nekesa|Nekessa|Nekesah",
    "Mwikali|Mwikaly|Mwikalli",
    "Mueni|Mwueni|Mweni",
    "Ndinda|Ndindah|Ndinnda",
    "Zawadi|Zawady|Zawaddi",
    "Neema|Nema|Neemah",
    "Rehema|Rahema|Rehemma",
    "Amina|Aminah|Amena",
    "Mwanaisha|Mwanaisa|Mwanaysha",
    "Halima|Halimah|Alima",
    "Fatuma|Fatma|Fatumah",
    "Mwajuma|Mwajumah|Mwadjuma",
    "Winnie|Winny|Wini",
    "Purity|Puritty|Purety",
    "Emily|Emmily|Emili",
    "Eunice|Yunis|Eunis",
    "Irene|Irine|Ireen",
    "Janet|Jennet|Janeth",
    "Judith|Judy|Juditha",
    "Lilian|Lillian|Liliana",
    "Lydia|Lidia|Lydiah",
    "Martha|Marta|Mata",
    "Naomi|Naomy|Nayomi",
    "Pauline|Paulina|Paulin",
    "Priscilla|Prisca|Priscila",
    "Rachel|Rakeli|Rachael",
    "Ruth|Ruthi|Rut",
    "Sharon|Sharron|Sharoni",
    "Stella|Stela|Stellah",
    "Teresia|Teresa|Theresia",
    "Veronica|Veronika|Beronika",
    "Violet|Violeth|Vayolet",
    "Dorcas|Dorkas|Dorca",
    "Edith|Editha|Edit",
    "Evaline|Eveline|Evelyn",
    "Florence|Florense|Flora",
    "Gladys|Gladis|Gladiz",
    "Hellen|Helen|Helena",
    "Josephine|Josephin|Yosefina",
    "Lucia|Lusia|Lucya",
    "Milka|Milkah|Mirka",
    "Monica|Monika|Monicah",
    "Phyllis|Philis|Phylis",
    "Roselyne|Roseline|Rosalyn",
    "Sylvia|Silvia|Silviah",
    "Tabitha|Tabisa|Tabita",
    "Christine|Kristine|Cristine",
    "Diana|Dianah|Dyana",
    "Dorothy|Dorothea|Doroth",
    "Hannah|Hana|Hanna",
    "Jackline|Jacqueline|Jaklin",
    "Kezia|Keziah|Kesia",
    "Leah|Lea|Leya",
    "Miriam|Mirriam|Miryam",
    "Pamela|Pamella|Pamelah",
    "Salome|Saloma|Salomi",
    "Scholastica|Skolastika|Scolastica",
    "Vivian|Vivianne|Viviane",
    "Brenda|Brendah|Brenada",
    "Cynthia|Synthia|Cinthia",
    "Doreen|Dorin|Dorine",
    "Edna|Ednah|Ednar",
    "Gloria|Gloriah|Glori",
    "Harriet|Hariet|Harieth",
    "Jacinta|Jacintah|Yasinta",
    "Loice|Lois|Loyce",
    "Maureen|Maurine|Morine",
    "Peris|Perris|Perisi",
    "Rebecca|Rebeka|Rebekah",
    "Salma|Salmah|Selma",
    "Tatu|Tatuh|Tattu",
    "Mwanahawa|Mwanahawah|Mwanawa",
    "Njambi|Njamby|Njambbi",
    "Wangari|Wangary|Wangarri",
    "Muthoni|Muthony|Mthoni",
    "Wangui|Wanguy|Wanguii",
    "Kerubo|Kerrubo|Kerubbo",
    "Moraa|Mora|Moraah",
    "Kwamboka|Kwambokka|Kwambocka",
    "Nasimiyu|Nasimiu|Nasimiyo",
    "Naliaka|Naliakah|Nalyaka",
    "Jemutai|Jemutay|Jemuttai",
    "Chelangat|Chelang'at|Chelangatt",
    "Mutheu|Muthehu|Muthew",
    "Kanini|Kaninni|Kaniny",
    "Nduku|Ndukuh|Ndukku",
    "Awino|Awinno|Awinoh",
    "Imani|Imanni|Imany",
};

static const char *const EA_FAMILY[] = {
    "Otieno|Otiyeno|Otienno",
    "Odhiambo|Odiambo|Odhyambo",
    "Kamau|Kamao|Kamawu",
    "Mwangi|Mwangy|Mwanghi",
    "Ochieng|Ochieng'|Ochiengi",
    "Onyango|Onyangho|Oniango",
    "Njoroge|Njorogeh|Njorge",
    "Kiprop|Kipprop|Kiprob",
    "Wanjiru|Wanjiro|Wanjirru",
    "Omondi|Omondy|Omundi",
    "Kariuki|Kariuky|Kariuk",
    "Kimani|Kimanni|Kimany",
    "Mutua|Mutuah|Mutwa",
    "Kiprotich|Kiprotic|Kiprotik",
    "Owino|Owinno|Owinoh",
    "Oduor|Odwor|Oduori",
    "Wafula|Wafulah|Waffula",
    "Wanjala|Wanjalla|Wanjalah",
    "Cheruiyot|Cheruyot|Cheruiot",
    "Langat|Lang'at|Langatt",
    "Koech|Koetch|Koec",
    "Kipkemboi|Kipkembo|Kipkemboy",
    "Rotich|Rotik|Rottich",
    "Korir|Korrir|Korire",
    "Kiplagat|Kiplaga|Kiplagatt",
    "Kibet|Kibett|Kibeti",
    "Kiptoo|Kiptoh|Kipto",
    "Chepkwony|Chepkony|Chepkwoni",
    "Kirui|Kiruy|Kiruyi",
    "Ngugi|Ngugy|Nguggi",
    "Waweru|Wawero|Waweruh",
    "Gitau|Gitao|Gitawu",
    "Macharia|Macharya|Macharria",
    "Muriuki|Muriuky|Muriukki",
    "Mbugua|Mbuguah|Mbugwa",
    "Ng'ang'a|Nganga|Ng'anga",
    "Njuguna|Njugunah|Njugunna",
    "Wambugu|Wambuggu|Wambuguh",
    "Kinyua|Kinyuah|Kinyuwa",
    "Maina|Mainah|Mayna",
    "Ndungu|Ndung'u|Ndunguh",
    "Githinji|Githinj|Githinjji",
    "Karanja|Karanjah|Karanjja",
    "Mugo|Muggo|Mugoh",
    "Wachira|Wachirah|Wachirra",
    "Nyaga|Nyagah|Niaga",
    "Njiru|Njirru|Njiro",
    "Muthomi|Muthomy|Mthomi",
    "Mutiso|Mutisso|Mutisoh",
    "Musyoka|Musyokah|Musioka",
    "Kioko|Kiokko|Kyoko",
    "Mwendwa|Mwendwah|Mwendua",
    "Nzioka|Nziokah|Nzyoka",
    "Kyalo|Kyallo|Kialo",
    "Munyao|Muniao|Munyaw",
    "Mulwa|Mulwah|Mullwa",
    "Wambua|Wambuah|Wambwa",
    "Kilonzo|Kilonso|Kilonzoh",
    "Wekesa|Wekessa|Wekessah",
    "Barasa|Barassa|Barasah",
    "Simiyu|Simiu|Simiyo",
    "Wanyama|Wanyamma|Waniama",
    "Nyongesa|Nyongessa|Nyongeza",
    "Wasike|Wasikeh|Wassike",
    "Makokha|Makoka|Makokkha",
    "Masinde|Masindeh|Massinde",
    "Juma|Jumah|Djuma",
    "Okoth|Okot|Okotth",
    "Ouma|Oumah|Owuma",
    "Okello|Okelo|Okellow",
    "Obiero|Obyero|Obierro",
    "Opiyo|Opio|Opiyoh",
    "Odongo|Odhongo|Odongoh",
    "Okumu|Okkumu|Okumuh",
    "Ojwang|Ojwang'|Ojuang",
    "Awuor|Awuori|Awour",
    "Achieng|Achieng'|Achiengi",
    "Akinyi|Akiny|Akinyii",
    "Atieno|Atiyeno|Atienno",
    "Adhiambo|Adiambo|Adhyambo",
    "Auma|Aumah|Awuma",
    "Oloo|Olo|Oloh",
    "Obonyo|Obonio|Obonyoh",
    "Oketch|Okech|Okeitch",
    "Onyancha|Onyanja|Onyanchah",
    "Nyamweya|Nyamweiya|Niamweya",
    "Mogaka|Mogakah|Mogakka",
    "Ondieki|Ondiek|Ondiekki",
    "Momanyi|Momany|Momanyii",
    "Nyakundi|Nyakundy|Niakundi",
    "Kerubo|Kerrubo|Kerubbo",
    "Moraa|Mora|Moraah",
    "Mwita|Mwitta|Mwitah",
    "Chacha|Chachah|Chaccha",
    "Marwa|Marwah|Marua",
    "Mohamed|Mohammed|Muhamed",
    "Hassan|Hasan|Hassani",
    "Omar|Omari|Umar",
    "Bakari|Bakary|Bakar",
    "Salim|Salimu|Saleem",
    "Mwamburi|Mwambure|Mwamburri",
    "Baya|Bayah|Baiya",
    "Kazungu|Kazunguh|Kazungo",
    "Katana|Katanah|Kattana",
    "Charo|Charoh|Tcharo",
    "Kahindi|Kahindy|Kaindi",
    "Ngala|Ngalah|Ngalla",
    "Lekishon|Lekishoni|Lekison",
    "Lemayian|Lemaiyan|Lemayan",
    "Saitoti|Saitotti|Saytoti",
    "Sankale|Sankaleh|Sankalle",
    "Ekal|Ekall|Ekale",
    "Lokol|Lokkol|Lokolo",
    "Ekai|Ekay|Ekaii",
    "Ebei|Ebey|Ebeii",
    "Lotodo|Lotoddo|Lotodoh",
    "Chege|Chegeh|Tchege",
    "Gachanja|Gachanjah|Gachanga",
    "Kang'ethe|Kangethe|Kang'ete",
    "Mathenge|Mathengeh|Matenge",
    "Ndirangu|Ndirang'u|Ndiranguh",
    "Kiarie|Kiarye|Kiari",
    "Nduati|Nduaty|Nduatti",
    "Wainaina|Waynaina|Wainainah",
    "Gathoni|Gathony|Gathonni",
    "Irungu|Irunguh|Irrungu",
    "Kamande|Kamandeh|Kamandde",
    "Kuria|Kuriah|Kurya",
    "Mbogo|Mbogoh|Mbbogo",
    "Ndegwa|Ndegua|Ndegwah",
    "Njenga|Njengah|Njennga",
    "Thuo|Thuoh|Tuo",
    "Kipchumba|Kipchumbah|Kipchumbba",
    "Kosgei|Kosgey|Kosgeii",
    "Tanui|Tanuy|Tanuii",
    "Bett|Bet|Beth",
    "Kemboi|Kemboy|Kemboii",
    "Ruto|Rutto|Rutoh",
    "Sang|Sangg|Sangh",
    "Yego|Yegoh|Yeggo",
    "Biwott|Biwot|Biwote",
    "Keter|Ketter|Keterr",
    "Chelimo|Chelimoh|Chelimmo",
    "Jeptoo|Jeptoh|Jepto",
    "Kiprono|Kipronoh|Kipruno",
    "Kipkorir|Kipkorrir|Kipkorire",
    "Mutai|Mutay|Muttai",
    "Too|Toh|Tooh",
    "Serem|Seremm|Serrem",
    "Kirwa|Kirwah|Kirua",
    "Mburu|Mburuh|Mbburu",
    "Kagwe|Kagweh|Kagwi",
    "Muchiri|Muchiry|Mchiri",
    "Njogu|Njoggu|Njoguh",
    "Wairimu|Wayrimu|Wairimmu",
    "Muthoni|Muthony|Mthoni",
    "Khaemba|Khaembah|Kaemba",
    "Wamalwa|Wamalua|Wamalwah",
    "Namwamba|Namwambah|Namuamba",
    "Were|Wereh|Werre",
    "Mukhwana|Mukwana|Mukhwanah",
    "Shikuku|Shikukku|Shikukuh",
};

static const char *const ET_MALE[] = {
    "Abebe|Abebbe|Abbebe=አበበ",
    "Tesfaye|Tesfay|Tesfaie=ተስፋዬ",
    "Alemu|Alemmu|Alamu=አለሙ",
    "Mulugeta|Mulageta|Mulugetta=ሙሉጌታ",
    "Girma|Girmaa|Germa=ግርማ",
    "Tadesse|Tadese|Taddese=ታደሰ",
    "Kebede|Kebbede|Kebedde=ከበደ",
    "Bekele|Bekelle|Beqele=በቀለ",
    "Getachew|Getacho|Getachewu=ጌታቸው",
    "Solomon|Selomon|Solomone=ሰለሞን",
    "Dawit|Dawitt|Dawid=ዳዊት",
    "Yohannes|Yohanes|Yohannis=ዮሐንስ",
    "Haile|Hayle|Haille=ኃይሌ",
    "Tekle|Teklay|Tekley=ተክሌ",
    "Berhanu|Birhanu|Brhanu=ብርሃኑ",
    "Desta|Dessta|Destaa=ደስታ",
    "Mengistu|Mengestu|Mengistou=መንግሥቱ",
    "Worku|Werku|Workou=ወርቁ",
    "Asfaw|Asfew|Asfaow=አስፋው",
    "Negash|Negasch|Negashe=ነጋሽ",
    "Lemma|Lema|Lemmaa=ለማ",
    "Wondimu|Wondemu|Wendimu=ወንድሙ",
    "Yared|Yaried|Yarad=ያሬድ",
    "Biniyam|Binyam|Biniam=ቢንያም",
    "Eyob|Iyob|Eyoub=እዮብ",
    "Fikru|Fikiru|Fekru=ፍቅሩ",
    "Henok|Henock|Henoke=ሄኖክ",
    "Kidane|Kidanie|Kidan=ኪዳኔ",
    "Alemayehu|Alemayhu|Alemayehou=አለማየሁ",
    "Assefa|Asefa|Assafa=አሰፋ",
    "Belay|Bellay|Belayie=በላይ",
    "Demissie|Demisse|Demise=ደምሴ",
    "Ermias|Ermiyas|Ermyas=ኤርሚያስ",
    "Fasil|Fassil|Fasile=ፋሲል",
    "Gebre|Gabre|Gebrie=ገብሬ",
    "Habte|Habtie|Habtay=ሀብቴ",
    "Kassahun|Kasahun|Kassahoun=ካሣሁን",
    "Mekonnen|Mekonen|Makonnen=መኮንን",
    "Mesfin|Mesfen|Mesfine=መስፍን",
    "Nigussie|Negussie|Nigusse=ንጉሤ",
    "Samuel|Samuael|Samwel=ሳሙኤል",
    "Tamrat|Tamirat|Temrat=ታምራት",
    "Teshome|Teshomme|Tishome=ተሾመ",
    "Tilahun|Tilahoun|Tilaun=ጥላሁን",
    "Wubshet|Wubishet|Webshet=ውብሸት",
    "Yonas|Yonass|Yunas=ዮናስ",
    "Zerihun|Zerihoun|Zeryhun=ዘሪሁን",
    "Abera|Aberra|Abbera=አበራ",
    "Amare|Amarre|Ammare=አማረ",
    "Ayele|Ayelle|Aiele=አየለ",
    "Ayalew|Ayalewu|Ayalaw=አያሌው",
    "Bekalu|Bekallu|Beqalu=በቃሉ",
    "Birhane|Berhane|Brhane=ብርሃኔ",
    "Chala|Challa|Chalaa=ጫላ",
    "Dereje|Derejje|Deraje=ደረጄ",
    "Endale|Endalle|Indale=እንዳለ",
    "Eshetu|Eshettu|Ishetu=እሸቱ",
    "Fekadu|Fikadu|Fekkadu=ፈቃዱ",
    "Gashaw|Gashew|Gashawu=ጋሻው",
    "Gizaw|Gizew|Gizau=ግዛው",
    "Hailu|Haylu|Hailou=ኃይሉ",
    "Kifle|Kiflie|Kefle=ክፍሌ",
    "Legesse|Legese|Leggesse=ለገሠ",
    "Melaku|Melakku|Malaku=መላኩ",
    "Mohammed|Mohamed|Mehammed=መሐመድ",
    "Nega|Negga|Negaa=ነጋ",
    "Shiferaw|Shiferew|Shifferaw=ሽፈራው",
    "Sisay|Sisaye|Sissay=ሲሳይ",
    "Tefera|Teferra|Tafera=ተፈራ",
    "Tewodros|Tewdros|Tewodrose=ቴዎድሮስ",
    "Wolde|Wolda|Welde=ወልዴ",
    "Yilma|Yilmaa|Ilma=ይልማ",
    "Zewdu|Zewudu|Zawdu=ዘውዱ",
    "Abiy|Abiye|Abii=ዐቢይ",
    "Addisu|Adissu|Adisu=አዲሱ",
    "Asnake|Asnakie|Asnaqe=አስናቀ",
    "Bereket|Bereketh|Berekat=በረከት",
    "Daniel|Danniel|Danial=ዳንኤል",
    "Elias|Eliyas|Elyas=ኤልያስ",
    "Fitsum|Fitsumm|Fetsum=ፍፁም",
    "Getahun|Getahoun|Getaun=ጌታሁን",
    "Girum|Girrum|Gerum=ግሩም",
    "Kaleb|Kaleab|Kalab=ካሌብ",
    "Kirubel|Kerubel|Kirubell=ኪሩቤል",
    "Mikias|Mikiyas|Mikyas=ሚኪያስ",
    "Nahom|Nahum|Nahoom=ናሆም",
    "Robel|Robell|Rubel=ሮቤል",
    "Samson|Samsom|Sampson=ሳምሶን",
    "Seifu|Seyfu|Sayfu=ሰይፉ",
    "Tamiru|Tamirou|Temiru=ታምሩ",
    "Tekalign|Tekaligne|Tekalegn=ተካልኝ",
    "Tsegaye|Tsegay|Segaye=ፀጋዬ",
    "Wondwossen|Wondwosen|Wendwosen=ወንድወሰን",
    "Yeshitila|Yeshitla|Yeshittila=የሺጥላ",
    "Yitbarek|Yitbarak|Itbarek=ይትባረክ",
    "Zelalem|Zellalem|Zelalam=ዘላለም",
    "Abdi|Abdii|Abdiy=አብዲ",
    "Gemechu|Gemachu|Gammechu=ገመቹ",
    "Tolosa|Tolossa|Tolesa=ቶሎሳ",
    "Lencho|Lenccho|Lancho=ሌንጮ",
    "Fayisa|Fayissa|Feyisa=ፈይሳ",
    "Obsa|Obssa|Obsaa=ኦብሳ",
    "Gudeta|Guddeta|Gudata=ጉደታ",
    "Tadele|Taddele|Tadelle=ታደለ",
    "Bizuayehu|Bizuayhu|Bezuayehu=ብዙአየሁ",
    "Admasu|Admassu|Admasou=አድማሱ",
    "Andualem|Anduallem|Andualam=አንዱዓለም",
    "Bahru|Bahiru|Bahrou=ባህሩ",
    "Derese|Deresse|Darese=ደረሰ",
    "Ephrem|Efrem|Ephraim=ኤፍሬም",
    "Gebremedhin|Gebremedin|Gabremedhin=ገብረመድህን",
    "Gebreyes|Gebreyesus|Gebreiyes=ገብረየስ",
    "Hagos|Hagoss|Hagus=ሐጎስ",
    "Mulatu|Mulattu|Mulatou=ሙላቱ",
    "Seyoum|Seyum|Siyoum=ሥዩም",
    "Teferi|Teferri|Tafari=ተፈሪ",
    "Wubetu|Wubbetu|Webetu=ውበቱ",
    "Yirga|Yirgaa|Irga=ይርጋ",
    "Zenebe|Zennebe|Zenabe=ዘነበ",
    "Anteneh|Antenneh|Antene=አንተነህ",
    "Melese|Melesse|Meles=መለሰ",
    "Sileshi|Silesh|Seleshi=ስለሺ",
    "Taye|Tayye|Taie=ታዬ",
    "Workneh|Worqneh|Werkneh=ወርቅነህ",
    "Amanuel|Amanueal|Emanuel=አማኑኤል",
    "Nebiyu|Nebiyou|Nebyu=ነቢዩ",
};

static const char *const ET_FEMALE[] = {
    "Tigist|Tegist|Tigest=ትዕግሥት",
    "Meseret|Messeret|Meserat=መሠረት",
    "Almaz|Almazz|Elmaz=አልማዝ",
    "Aster|Astair|Asther=አስቴር",
    "Selam|Sellam|Salam=ሰላም",
    "Hiwot|Hiwott|Heywot=ሕይወት",
    "Meron|Merron|Miron=ሜሮን",
    "Bethlehem|Betelhem|Bethelehem=ቤተልሔም",
    "Mekdes|Meqdes|Mekdess=መቅደስ",
    "Tsion|Tseyon|Zion=ጽዮን",
    "Hana|Hanna|Hanah=ሐና",
    "Sara|Sarah|Sarra=ሳራ",
    "Marta|Martha|Marth=ማርታ",
    "Yeshi|Yeshie|Yeshy=የሺ",
    "Abeba|Abebba|Abbeba=አበባ",
    "Azeb|Azzeb|Azieb=አዜብ",
    "Genet|Gennet|Ganet=ገነት",
    "Etenesh|Etenish|Itenesh=እቴነሽ",
    "Mulu|Mullu|Mulou=ሙሉ",
    "Tsehay|Tsehai|Sehay=ፀሐይ",
    "Birtukan|Birtukaan|Brtukan=ብርቱካን",
    "Workinesh|Workenesh|Worqnesh=ወርቅነሽ",
    "Zenebech|Zenebetch|Zenabech=ዘነበች",
    "Yewubdar|Yewbdar|Yewubdarr=የውብዳር",
    "Askale|Askalle|Asqale=አስካለ",
    "Alem|Alemm|Alam=ዓለም",
    "Alemitu|Alemmitu|Alamitu=ዓለሚቱ",
    "Belaynesh|Belaynish|Belainesh=በላይነሽ",
    "Mulunesh|Mulunish|Mullunesh=ሙሉነሽ",
    "Tirunesh|Tirunish|Terunesh=ጥሩነሽ",
    "Zewditu|Zawditu|Zewdito=ዘውዲቱ",
    "Firehiwot|Frehiwot|Firehiwet=ፍሬሕይወት",
    "Helen|Hellen|Helena=ሄለን",
    "Eden|Edenn|Eeden=ኤደን",
    "Ruth|Rut|Ruthe=ሩት",
    "Liya|Lia|Liyah=ሊያ",
    "Rahel|Rachel|Rahell=ራሔል",
    "Saba|Sabba|Sabaa=ሳባ",
    "Selamawit|Selamawitt|Selamawet=ሰላማዊት",
    "Tsige|Tsigie|Sige=ፅጌ",
    "Wubit|Wubet|Wibit=ውብት",
    "Yodit|Yodith|Judit=ዮዲት",
    "Kidist|Kiddist|Qidist=ቅድስት",
    "Feven|Fevenn|Fiven=ፌቨን",
    "Blen|Bilen|Blene=ብሌን",
    "Mahlet|Mahelet|Mahlette=ማህሌት",
    "Netsanet|Netsannet|Nesanet=ነፃነት",
    "Rediet|Redeat|Rediat=ረድኤት",
    "Semhal|Semhall|Simhal=ሰምሃል",
    "Samrawit|Samrawitt|Semrawit=ሳምራዊት",
    "Tizita|Tizzita|Tezita=ትዝታ",
    "Wagaye|Wagayie|Wegaye=ዋጋዬ",
    "Yeshimebet|Yeshimabet|Yeshimbet=የሺመቤት",
    "Zinash|Zinnash|Zenash=ዝናሽ",
    "Amarech|Amaretch|Amarach=አማረች",
    "Bizunesh|Bizuneshe|Bezunesh=ብዙነሽ",
    "Emebet|Emmebet|Imebet=እመቤት",
    "Fantaye|Fantaie|Fantay=ፋንታዬ",
    "Haregewoin|Haregwoin|Haregewain=ሐረገወይን",
    "Konjit|Konjitt|Kongit=ቆንጂት",
    "Lemlem|Lemlemm|Lamlam=ለምለም",
    "Nigist|Negist|Nigest=ንግሥት",
    "Senait|Senayt|Sinait=ሰናይት",
    "Tenagne|Tenagnie|Tenanye=ተናኜ",
    "Tsedale|Tsedalle|Sedale=ፀዳለ",
    "Yenenesh|Yeneneshe|Yennenesh=የኔነሽ",
    "Zertihun|Zertihoun|Zertehun=ዘርትሁን",
    "Abebech|Abebetch|Abebach=አበበች",
    "Ayantu|Ayyantu|Aiantu=አያንቱ",
    "Chaltu|Challtu|Chaltou=ጫልቱ",
    "Gelila|Gellila|Galila=ገሊላ",
    "Hirut|Hiruth|Herut=ሂሩት",
    "Jerusalem|Yerusalem|Jerusalam=እየሩሳሌም",
    "Kalkidan|Kalkedan|Qalkidan=ቃልኪዳን",
    "Lidya|Lydia|Lidiya=ሊዲያ",
    "Meskerem|Mesqerem|Meskarem=መስከረም",
    "Mihret|Mehret|Mihrett=ምሕረት",
    "Nardos|Nardoss|Nardose=ናርዶስ",
    "Roman|Romman|Romane=ሮማን",
    "Sifan|Siffan|Sefan=ሲፋን",
    "Tsegereda|Tsigereda|Segereda=ፅገረዳ",
    "Woinshet|Wayinshet|Woynshet=ወይንሸት",
    "Yemisrach|Yemesrach|Yemisrachi=የምስራች",
    "Zemzem|Zamzam|Zemzemm=ዘምዘም",
    "Adanech|Adanetch|Adanach=አዳነች",
    "Aynalem|Ainalem|Aynalam=ዓይናለም",
    "Beza|Bezza|Bezaa=ቤዛ",
    "Dagmawit|Dagmawitt|Degmawit=ዳግማዊት",
    "Elsa|Elssa|Alsa=ኤልሳ",
    "Fikirte|Fikrte|Fekirte=ፍቅርተ",
    "Hamelmal|Hamelmall|Hamalmal=ሐመልማል",
    "Kokob|Kokeb|Kokobe=ኮከብ",
    "Lula|Lulla|Lulaa=ሉላ",
    "Meaza|Mahaza|Meazza=መዓዛ",
    "Nebiat|Nebiyat|Nebyat=ነቢያት",
    "Rekik|Reqiq|Rekike=ረቂቅ",
    "Sosina|Sossina|Sosena=ሶሲና",
    "Tewabech|Tewabetch|Tewabach=ተዋበች",
    "Wude|Wudde|Wudie=ውዴ",
    "Yalemzewd|Yalemzwd|Yalemzewde=ያለምዘውድ",
    "Zebiba|Zebibba|Zabiba=ዘቢባ",
    "Asnakech|Asnaketch|Asnaqech=አስናቀች",
    "Betty|Bety|Bettie=ቤቲ",
    "Eleni|Elleni|Elene=ኤሌኒ",
    "Fana|Fanna|Fanaa=ፋና",
    "Kebebush|Kebbebush|Kebebesh=ከበቡሽ",
    "Medina|Mediina|Madina=መዲና",
    "Nuria|Nurya|Nuriya=ኑሪያ",
    "Rahma|Rahmah|Rehma=ራሕማ",
    "Seble|Sebble|Sable=ሰብለ",
    "Tsehaynesh|Tsehainesh|Sehaynesh=ፀሐይነሽ",
    "Yordanos|Yordanose|Yordanoss=ዮርዳኖስ",
    "Aregash|Areggash|Aragash=አረጋሽ",
    "Birke|Birkie|Berke=ብርቄ",
    "Derartu|Derartou|Darartu=ደራርቱ",
    "Elfinesh|Elfenesh|Elfnesh=እልፍነሽ",
    "Fatuma|Fatima|Fatouma=ፋጡማ",
    "Gete|Getie|Gette=ጌጤ",
    "Hayat|Hayyat|Hayate=ሀያት",
    "Jemila|Jamila|Jemilla=ጀሚላ",
    "Kelemework|Kelemwork|Kelemeworq=ቀለመወርቅ",
    "Mestawet|Mestawot|Mastawet=መስታወት",
    "Serkalem|Serkallem|Serkalam=ሰርካለም",
    "Tiruwork|Tiruworq|Teruwork=ጥሩወርቅ",
};

/* Near-identical names given to same-sex twins (either order). */
static const struct {
    int culture, sex;
    const char *a, *b;
} TWIN_PAIRS[] = {
    {0, 0, "Hassan", "Hussein"},      {0, 0, "Abdirahman", "Abdirahim"},
    {0, 0, "Abdikarim", "Abdihakim"}, {0, 0, "Abdinasir", "Abdinur"},
    {0, 1, "Hodan", "Hodo"},          {0, 1, "Idil", "Ilhan"},
    {0, 1, "Hamdi", "Hamda"},         {0, 1, "Sahra", "Sagal"},
    {1, 0, "Opiyo", "Odongo"},        {1, 1, "Apiyo", "Adongo"},
    {1, 0, "Isaac", "Isaiah"},         {1, 1, "Faith", "Imani"},
    {2, 0, "Dawit", "Daniel"},        {2, 0, "Kaleb", "Kirubel"},
    {2, 1, "Selam", "Selamawit"},     {2, 1, "Tsion", "Tsige"},
};

typedef struct Name {
    const char *canon;
    const char *script;        /* NULL when the culture has no own script */
    const char *var[4];
    int nvar;
    const struct Name *twin;   /* near-identical name for a twin, or NULL */
} Name;

typedef struct {
    Name *v;
    int n;
    uint64_t *cum;             /* cumulative Zipf-Mandelbrot weights */
    uint64_t total;
} NameList;

enum { C_SOMALI, C_EASTAFRICA, C_ETHIOPIA, NCULT };
enum { SEX_M, SEX_F };

static NameList L_given[NCULT][2];  /* [culture][sex] */
static NameList L_family_ea;        /* culture 1 family names */

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* weight of rank k (0-based): 2^36 / (k + 1 + q4/4) */
static void build_list(NameList *l, const char *const *src, int n, int q4, int need_script)
{
    l->n = n;
    l->v = xcalloc((size_t)n, sizeof(Name));
    l->cum = xmalloc((size_t)n * sizeof(uint64_t));
    uint64_t acc = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(src[i]);
        char *p = xmalloc(len + 1);
        memcpy(p, src[i], len + 1);
        Name *nm = &l->v[i];
        char *eq = strchr(p, '=');
        if (eq) {
            *eq = '\0';
            nm->script = eq + 1;
        }
        if (need_script != (eq != NULL))
            die_table("script form missing or unexpected", src[i]);
        nm->canon = p;
        for (char *q = strchr(p, '|'); q; q = strchr(q + 1, '|')) {
            *q = '\0';
            if (nm->nvar == 4)
                die_table("more than 4 variants", src[i]);
            nm->var[nm->nvar++] = q + 1;
        }
        if (nm->nvar == 0 || !nm->canon[0])
            die_table("no spelling variant", src[i]);
        for (int j = 0; j < nm->nvar; j++)
            if (!nm->var[j][0] || strcmp(nm->var[j], nm->canon) == 0)
                die_table("bad variant", src[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(l->v[j].canon, nm->canon) == 0)
                die_table("duplicate name", src[i]);
        acc += (1ULL << 38) / (uint64_t)(4 * (i + 1) + q4);
        l->cum[i] = acc;
    }
    l->total = acc;
}

static Name *find_name(NameList *l, const char *canon)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].canon, canon) == 0)
            return &l->v[i];
    die_table("twin name not in list", canon);
    return NULL;
}

static void init_names(void)
{
    build_list(&L_given[C_SOMALI][SEX_M], SOM_MALE, COUNT(SOM_MALE), 8, 1);
    build_list(&L_given[C_SOMALI][SEX_F], SOM_FEMALE, COUNT(SOM_FEMALE), 12, 1);
    build_list(&L_given[C_EASTAFRICA][SEX_M], EA_MALE, COUNT(EA_MALE), 12, 0);
    build_list(&L_given[C_EASTAFRICA][SEX_F], EA_FEMALE, COUNT(EA_FEMALE), 12, 0);
    build_list(&L_given[C_ETHIOPIA][SEX_M], ET_MALE, COUNT(ET_MALE), 12, 1);
    build_list(&L_given[C_ETHIOPIA][SEX_F], ET_FEMALE, COUNT(ET_FEMALE), 12, 1);
    build_list(&L_family_ea, EA_FAMILY, COUNT(EA_FAMILY), 16, 0);
    for (int i = 0; i < COUNT(TWIN_PAIRS); i++) {
        NameList *l = &L_given[TWIN_PAIRS[i].culture][TWIN_PAIRS[i].sex];
        Name *a = find_name(l, TWIN_PAIRS[i].a), *b = find_name(l, TWIN_PAIRS[i].b);
        a->twin = b;
        b->twin = a;
    }
}

static const Name *zipf(Rng *r, const NameList *l)
{
    uint64_t u = rng_next(r) % l->total;
    int lo = 0, hi = l->n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (l->cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return &l->v[lo];
}

/* ------------------------------------------------------------------ */
/* Geography                                                           */
/* ------------------------------------------------------------------ */

#define NREGIONS 18
static const int DISTRICTS[NREGIONS] = {6, 4, 5, 7, 4, 8, 5, 6, 4, 7, 5, 6, 8, 4, 5, 6, 7, 5};

#define MAX_CLAN 10
typedef struct {
    uint8_t region;            /* 1..18 */
    uint8_t district;          /* 1..8 */
    uint8_t culture;
    uint8_t nclan;
    uint16_t dist_id;          /* global district index */
    const Name *clan[MAX_CLAN];
    char code[10];             /* SOrrdddvvv... SO + 2 + 2 + 3 */
} Village;

static Village *g_vil;
static uint32_t g_nvil;
static uint64_t *g_vil_cum;    /* cumulative household weights */
static uint64_t g_vil_total;
static uint32_t g_ndist;
static uint32_t *g_dist_vstart, *g_dist_vlist;  /* villages by district */
static uint32_t g_reg_vstart[NREGIONS + 1], *g_reg_vlist;

static int draw_culture(Rng *r)
{
    uint32_t u = below(r, 100);
    return u < 60 ? C_SOMALI : u < 85 ? C_EASTAFRICA : C_ETHIOPIA;
}

static void init_villages(uint64_t records, uint32_t dup_ppm)
{
    /* expected records per person: 1 + R * 1.1 * (0.75 + 0.25 * ~0.5) + 0.02 */
    uint64_t f_ppm = 1000000ULL + (uint64_t)dup_ppm * 9625 / 10000 + 20000;
    uint64_t persons = records * 1000000ULL / f_ppm;
    uint64_t nv = persons / 1500;
    if (nv < 20)
        nv = 20;
    g_nvil = (uint32_t)nv;
    g_vil = xcalloc(g_nvil, sizeof(Village));
    g_vil_cum = xmalloc(g_nvil * sizeof(uint64_t));

    uint32_t dist_base[NREGIONS];
    g_ndist = 0;
    for (int r = 0; r < NREGIONS; r++) {
        dist_base[r] = g_ndist;
        g_ndist += (uint32_t)DISTRICTS[r];
    }
    uint64_t acc = 0;
    for (uint32_t v = 0; v < g_nvil; v++) {
        Village *vl = &g_vil[v];
        uint32_t reg = v % NREGIONS, j = v / NREGIONS;
        uint32_t nreg = g_nvil / NREGIONS + (reg < g_nvil % NREGIONS ? 1 : 0);
        /* small countries: few districts per region, so that districts hold
         * several villages; at scale every district is used */
        uint32_t nd = nreg / 3;
        if (nd < 1)
            nd = 1;
        if (nd > (uint32_t)DISTRICTS[reg])
            nd = (uint32_t)DISTRICTS[reg];
        uint32_t dist = j % nd, num = j / nd + 1;
        vl->region = (uint8_t)(reg + 1);
        vl->district = (uint8_t)(dist + 1);
        vl->dist_id = (uint16_t)(dist_base[reg] + dist);
        memcpy(vl->code, "SO", 2);
        put_digits(vl->code + 2, reg + 1, 2);
        put_digits(vl->code + 4, dist + 1, 2);
        put_digits(vl->code + 6, num % 1000, 3);
        vl->code[9] = '\0';
        Rng rr;
        rng_stream(&rr, S_VILLAGE, v, 0);
        vl->culture = (uint8_t)draw_culture(&rr);
        /* household weight: most villages 1-3, one in ten a small town */
        uint32_t w = 1 + below(&rr, 3) + (chance(&rr, 100000) ? 6 : 0);
        acc += w;
        g_vil_cum[v] = acc;
        /* preferred family names (clans), used by culture-1 households */
        vl->nclan = (uint8_t)(5 + below(&rr, 6));
        for (int k = 0; k < vl->nclan; k++) {
            const Name *nm;
            int tries = 0, dup;
            do {
                nm = zipf(&rr, &L_family_ea);
                dup = 0;
                for (int q = 0; q < k; q++)
                    if (vl->clan[q] == nm)
                        dup = 1;
            } while (dup && ++tries < 50);
            vl->clan[k] = nm;
        }
    }
    g_vil_total = acc;

    /* villages by district and by region */
    g_dist_vstart = xcalloc(g_ndist + 1, sizeof(uint32_t));
    g_dist_vlist = xmalloc(g_nvil * sizeof(uint32_t));
    g_reg_vlist = xmalloc(g_nvil * sizeof(uint32_t));
    for (uint32_t v = 0; v < g_nvil; v++)
        g_dist_vstart[g_vil[v].dist_id + 1]++;
    for (uint32_t d = 0; d < g_ndist; d++)
        g_dist_vstart[d + 1] += g_dist_vstart[d];
    uint32_t *fill = xcalloc(g_ndist, sizeof(uint32_t));
    for (uint32_t v = 0; v < g_nvil; v++) {
        uint32_t d = g_vil[v].dist_id;
        g_dist_vlist[g_dist_vstart[d] + fill[d]++] = v;
    }
    free(fill);
    memset(g_reg_vstart, 0, sizeof g_reg_vstart);
    for (uint32_t v = 0; v < g_nvil; v++)
        g_reg_vstart[g_vil[v].region]++;
    for (int r = 0; r < NREGIONS; r++)
        g_reg_vstart[r + 1] += g_reg_vstart[r];
    uint32_t rfill[NREGIONS] = {0};
    for (uint32_t v = 0; v < g_nvil; v++) {
        uint32_t r = g_vil[v].region - 1u;
        g_reg_vlist[g_reg_vstart[r] + rfill[r]++] = v;
    }
}

static uint32_t pick_village(Rng *r)
{
    uint64_t u = rng_next(r) % g_vil_total;
    uint32_t lo = 0, hi = g_nvil - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g_vil_cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static uint32_t other_village_in_region(Rng *r, uint32_t v)
{
    uint32_t reg = g_vil[v].region - 1u;
    uint32_t s = g_reg_vstart[reg], n = g_reg_vstart[reg + 1] - s;
    if (n < 2)
        return v;
    uint32_t k = below(r, n - 1);
    uint32_t w = g_reg_vlist[s + k];
    return w == v ? g_reg_vlist[s + n - 1] : w;
}

static uint32_t other_village_in_district(Rng *r, uint32_t v)
{
    uint32_t d = g_vil[v].dist_id;
    uint32_t s = g_dist_vstart[d], n = g_dist_vstart[d + 1] - s;
    if (n < 2)
        return other_village_in_region(r, v);
    uint32_t k = below(r, n - 1);
    uint32_t w = g_dist_vlist[s + k];
    return w == v ? g_dist_vlist[s + n - 1] : w;
}

static uint32_t village_in_other_region(Rng *r, uint32_t v)
{
    for (int tries = 0; tries < 64; tries++) {
        uint32_t w = below(r, g_nvil);
        if (g_vil[w].region != g_vil[v].region)
            return w;
    }
    return (v + 1) % g_nvil;
}

/* ------------------------------------------------------------------ */
/* The population: households and their members (the truth)           */
/* ------------------------------------------------------------------ */

enum { R_HEAD, R_SPOUSE, R_CHILD, R_PARENT, R_SIBLING, R_GRANDCHILD, R_OTHER };
static const char *const REL_NAME[] = {"head", "spouse", "child", "parent",
                                       "sibling", "grandchild", "other"};

typedef struct {
    const Name *given, *family;
    uint32_t entity;
    uint32_t phone;            /* 9 digits (6xxxxxxxx), 0 = none */
    uint16_t year;
    uint8_t month, day;
    uint8_t sex, rel;
    uint8_t twin_group;        /* birth number + 1 for twins, else 0 */
    uint8_t twin, junior, share_phone, has_nid;
    int8_t parent;             /* grandchild: index of its parent, else -1 */
} Person;

typedef struct {
    uint32_t h, village;
    int culture, n;
    Person m[MAX_MEMBERS];
} Household;

/* pass-1 results */
static uint32_t g_nhh;
static uint8_t *g_hh_size;
static uint32_t *g_hh_village, *g_hh_first;
static uint32_t g_cap_h = UINT32_MAX;  /* the household cut short, if any */
static int g_cap_n;

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

static void random_date(Rng *r, Person *p, int year)
{
    p->year = (uint16_t)year;
    p->month = (uint8_t)(1 + below(r, 12));
    p->day = (uint8_t)(1 + below(r, (uint32_t)days_in_month(year, p->month)));
}

static const Name *draw_given(Rng *r, int culture, int sex)
{
    return zipf(r, &L_given[culture][sex]);
}

/* A family name as newly drawn for someone: culture 1 from the village's
 * clans half the time, else the national distribution; patronymic cultures
 * use a (father's) male given name. */
static const Name *draw_family(Rng *r, int culture, uint32_t village)
{
    if (culture == C_EASTAFRICA) {
        const Village *vl = &g_vil[village];
        if (chance(r, 500000))
            return vl->clan[below(r, vl->nclan)];
        return zipf(r, &L_family_ea);
    }
    return zipf(r, &L_given[culture][SEX_M]);
}

static Person *add_member(Household *hh, int rel, int sex)
{
    if (hh->n >= MAX_MEMBERS)
        return NULL;
    Person *p = &hh->m[hh->n++];
    memset(p, 0, sizeof *p);
    p->rel = (uint8_t)rel;
    p->sex = (uint8_t)sex;
    p->parent = -1;
    return p;
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int same_name(const Person *a, const Person *b)
{
    return strcmp(a->given->canon, b->given->canon) == 0 &&
           strcmp(a->family->canon, b->family->canon) == 0;
}

/* Births per mother: 0..8, mean about 4 (before adult children leave). */
static const uint8_t BIRTH_W[9] = {4, 5, 8, 11, 13, 15, 15, 15, 14};

static void gen_household(uint32_t h, Household *hh)
{
    Rng r;
    rng_stream(&r, S_HOUSEHOLD, h, 0);
    memset(hh, 0, sizeof *hh);
    hh->h = h;
    hh->village = pick_village(&r);
    int c = g_vil[hh->village].culture;
    if (!chance(&r, 900000))
        c = draw_culture(&r);
    hh->culture = c;
    uint32_t vil = hh->village;

    /* head */
    Person *head = add_member(hh, R_HEAD, chance(&r, 700000) ? SEX_M : SEX_F);
    head->year = (uint16_t)(1942 + below(&r, 34) + below(&r, 32));
    random_date(&r, head, head->year);
    head->given = draw_given(&r, c, head->sex);
    const Name *head_birth_family = draw_family(&r, c, vil);
    head->family = head_birth_family;

    /* spouse */
    Person *sp = NULL;
    if (chance(&r, head->sex == SEX_M ? 850000 : 200000)) {
        sp = add_member(hh, R_SPOUSE, head->sex == SEX_M ? SEX_F : SEX_M);
        int y = sp->sex == SEX_F ? head->year - 3 + (int)below(&r, 16)
                                 : head->year + 3 - (int)below(&r, 16);
        random_date(&r, sp, clamp(y, MIN_YEAR, ADULT_YEAR));
        sp->given = draw_given(&r, c, sp->sex);
        sp->family = draw_family(&r, c, vil);
        if (c == C_EASTAFRICA && chance(&r, 600000)) {
            if (sp->sex == SEX_F)
                sp->family = head->family;     /* wife takes husband's name */
            else
                head->family = sp->family;
        }
    }
    Person *father = head->sex == SEX_M ? head : sp;
    Person *mother = head->sex == SEX_F ? head : sp;

    /* the children's father's given name and their family name */
    const Name *father_given = father ? father->given : draw_given(&r, c, SEX_M);
    const Name *grandfather_given =
        father && c != C_EASTAFRICA ? father->family : NULL;
    const Name *kids_family;
    if (c == C_EASTAFRICA)
        kids_family = father ? father->family : head->family;
    else
        kids_family = father_given;

    /* children: the first 17-28 years after the mother's birth, then every
     * 15-44 months, never after her 45th year nor after the end of 2025 */
    int my = mother ? mother->year * 12 + mother->month - 1 : (head->year + 3) * 12;
    int lo = my + 17 * 12, hi = my + 45 * 12 < REF_YEAR * 12 + 11 ? my + 45 * 12 : REF_YEAR * 12 + 11;
    int nkids = 0;
    if (lo <= hi) {
        uint32_t u = below(&r, 100), acc = 0;
        int births = 0;
        for (int k = 0; k < 9; k++) {
            acc += BIRTH_W[k];
            if (u < acc) {
                births = k;
                break;
            }
        }
        int when[MAX_CHILDREN], nb = 0;
        for (int t = lo + (int)below(&r, 12 * 12); nb < births && t <= hi; t += 15 + (int)below(&r, 30))
            when[nb++] = t;
        for (int b = 0; b < nb; b++) {
            int twins = chance(&r, 20000) ? 2 : 1;
            Person proto;
            memset(&proto, 0, sizeof proto);
            proto.year = (uint16_t)(when[b] / 12);
            proto.month = (uint8_t)(when[b] % 12 + 1);
            proto.day = (uint8_t)(1 + below(&r, (uint32_t)days_in_month(proto.year, proto.month)));
            /* adult children have mostly left the household */
            int stays = REF_YEAR - proto.year < 18 || chance(&r, 400000);
            const Name *first_given = NULL;
            int first_sex = -1;
            for (int t = 0; t < twins; t++) {
                int sex = chance(&r, 500000) ? SEX_F : SEX_M;
                const Name *g;
                uint32_t u2 = below(&r, PPM);
                if (t == 1 && first_sex == sex && first_given->twin && chance(&r, 300000))
                    g = first_given->twin;
                else if (sex == SEX_M && u2 < 50000)
                    g = father_given;                  /* named after father */
                else if (sex == SEX_M && u2 < 100000 && grandfather_given)
                    g = grandfather_given;             /* after grandfather */
                else {
                    int tries = 0;
                    do
                        g = draw_given(&r, c, sex);
                    while (g == first_given && ++tries < 8);
                }
                if (t == 0) {
                    first_given = g;
                    first_sex = sex;
                }
                if (!stays || nkids >= MAX_CHILDREN)
                    continue;
                Person *ch = add_member(hh, R_CHILD, sex);
                if (!ch)
                    continue;
                nkids++;
                ch->year = proto.year;
                ch->month = proto.month;
                ch->day = proto.day;
                ch->given = g;
                ch->family = kids_family;
                ch->twin_group = twins == 2 ? (uint8_t)(b + 1) : 0;
            }
        }
    }

    /* a parent of the head */
    if (chance(&r, 100000)) {
        int py = head->year - 18 - (int)below(&r, 25);
        if (py >= MIN_YEAR) {
            Person *pa = add_member(hh, R_PARENT, chance(&r, 650000) ? SEX_F : SEX_M);
            if (pa) {
                random_date(&r, pa, py);
                if (pa->sex == SEX_M) {
                    if (c == C_EASTAFRICA) {
                        pa->given = draw_given(&r, c, SEX_M);
                        pa->family = head_birth_family;
                    } else {
                        pa->given = head_birth_family;  /* the head's father */
                        pa->family = draw_family(&r, c, vil);
                    }
                } else {
                    pa->given = draw_given(&r, c, SEX_F);
                    if (c == C_EASTAFRICA && chance(&r, 600000))
                        pa->family = head_birth_family;
                    else
                        pa->family = draw_family(&r, c, vil);
                }
            }
        }
    }

    /* a sibling of the head */
    if (chance(&r, 70000)) {
        Person *si = add_member(hh, R_SIBLING, chance(&r, 500000) ? SEX_F : SEX_M);
        if (si) {
            random_date(&r, si, clamp(head->year - 10 + (int)below(&r, 21), MIN_YEAR, REF_YEAR));
            int tries = 0;
            do
                si->given = draw_given(&r, c, si->sex);
            while (si->given == head->given && ++tries < 8);
            si->family = head_birth_family;
        }
    }

    /* grandchildren: children of the eldest child present */
    {
        int ci = -1;
        for (int i = 0; i < hh->n; i++)
            if (hh->m[i].rel == R_CHILD) {
                ci = i;
                break;
            }
        if (ci >= 0 && hh->m[ci].year + 17 <= REF_YEAR && chance(&r, 250000)) {
            int ng = chance(&r, 400000) ? 2 : 1;
            for (int k = 0; k < ng; k++) {
                const Person *pc = &hh->m[ci];
                int gy = pc->year + 17 + (int)below(&r, (uint32_t)(REF_YEAR - pc->year - 17 + 1));
                Person *gc = add_member(hh, R_GRANDCHILD, chance(&r, 500000) ? SEX_F : SEX_M);
                if (!gc)
                    break;
                random_date(&r, gc, gy);
                gc->given = draw_given(&r, c, gc->sex);
                if (c == C_EASTAFRICA)
                    gc->family = pc->sex == SEX_M ? pc->family : draw_family(&r, c, vil);
                else
                    gc->family = pc->sex == SEX_M ? pc->given : draw_family(&r, c, vil);
                gc->parent = (int8_t)ci;
            }
        }
    }

    /* an unrelated member */
    if (chance(&r, 30000)) {
        Person *o = add_member(hh, R_OTHER, chance(&r, 500000) ? SEX_F : SEX_M);
        if (o) {
            random_date(&r, o, MIN_YEAR + (int)below(&r, REF_YEAR - MIN_YEAR + 1));
            o->given = draw_given(&r, c, o->sex);
            o->family = draw_family(&r, c, vil);
        }
    }

    /* identifiers and phones */
    for (int i = 0; i < hh->n; i++) {
        Person *p = &hh->m[i];
        int adult = p->year <= ADULT_YEAR;
        p->has_nid = (uint8_t)(adult && chance(&r, 750000));
        uint32_t own = p->rel == R_HEAD ? 800000 : !adult ? 0 : p->rel == R_SPOUSE ? 450000 : 300000;
        if (own && chance(&r, own)) {
            static const uint32_t OPER[6] = {1, 2, 3, 5, 8, 9};
            p->phone = 600000000u + OPER[below(&r, 6)] * 10000000u + below(&r, 10000000);
        } else if (p->rel != R_HEAD && chance(&r, 300000)) {
            p->share_phone = 1;
        }
    }

    /* cut the last household short to land on exactly N records */
    if (h == g_cap_h && hh->n > g_cap_n)
        hh->n = g_cap_n;

    /* derived facts: twins present together, juniors */
    for (int i = 0; i < hh->n; i++) {
        Person *p = &hh->m[i];
        if (p->twin_group)
            for (int j = 0; j < hh->n; j++)
                if (j != i && hh->m[j].twin_group == p->twin_group)
                    p->twin = 1;
        if (p->rel == R_CHILD) {
            for (int j = 0; j < hh->n && j < 2; j++)
                if ((hh->m[j].rel == R_HEAD || hh->m[j].rel == R_SPOUSE) && same_name(p, &hh->m[j]))
                    p->junior = 1;
        } else if (p->rel == R_HEAD) {
            for (int j = 0; j < hh->n; j++)
                if (hh->m[j].rel == R_PARENT && same_name(p, &hh->m[j]))
                    p->junior = 1;
        } else if (p->rel == R_GRANDCHILD && p->parent >= 0) {
            if (same_name(p, &hh->m[p->parent]))
                p->junior = 1;
        }
    }
    if (g_hh_first && h < g_nhh)
        for (int i = 0; i < hh->n; i++)
            hh->m[i].entity = g_hh_first[h] + (uint32_t)i + 1;
}

/* ------------------------------------------------------------------ */
/* Output buffer                                                       */
/* ------------------------------------------------------------------ */

#define OBUF_SIZE (1u << 20)
static char *g_obuf;
static size_t g_olen;

static void die_write(void)
{
    int e = errno;
    fprintf(stderr, "registry_gen: error writing output: %s\n", e ? strerror(e) : "write failed");
    exit(1);
}

static void out_flush(void)
{
    if (g_olen) {
        errno = 0;
        if (fwrite(g_obuf, 1, g_olen, stdout) != g_olen)
            die_write();
        g_olen = 0;
    }
}

static void out_bytes(const char *s, size_t n)
{
    if (g_olen + n > OBUF_SIZE)
        out_flush();
    memcpy(g_obuf + g_olen, s, n);
    g_olen += n;
}

/* Append one CSV field (RFC 4180 quoting when needed). */
static char *put_field(char *p, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        size_t n = strlen(s);
        memcpy(p, s, n);
        return p + n;
    }
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"')
            *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    return p;
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_digits(char *p, uint32_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* ------------------------------------------------------------------ */
/* Recording errors                                                    */
/* ------------------------------------------------------------------ */

enum {
    T_DUP = 1 << 0, T_MOVED = 1 << 1, T_TWIN = 1 << 2, T_JUNIOR = 1 << 3,
    T_SWAPPED = 1 << 4, T_SCRIPT = 1 << 5, T_VARIANT = 1 << 6, T_NAME_TYPO = 1 << 7,
    T_DATE_TYPO = 1 << 8, T_ID_TYPO = 1 << 9, T_ID_MISSING = 1 << 10,
    T_SHARED_PHONE = 1 << 11, T_SEX_TYPO = 1 << 12, NTAGS = 13
};
static const char *const TAG_NAME[NTAGS] = {
    "dup", "moved", "twin", "junior", "swapped", "script", "variant", "name_typo",
    "date_typo", "id_typo", "id_missing", "shared_phone", "sex_typo"};

/* error rates in ppm, for re-registrations; first registrations get half */
#define P_VARIANT      150000
#define P_NAME_TYPO     40000
#define P_SWAP          40000
#define P_SCRIPT       120000
#define P_FAMILY_MISS   10000
#define P_DATE_TYPO     40000
#define P_DATE_MISS     15000
#define P_ID_OMIT      300000
#define P_ID_TYPO       30000
#define P_PHONE_NEW    300000
#define P_PHONE_OMIT   250000
#define P_SEX_FLIP       5000

static uint32_t rate(int full, uint32_t ppm)
{
    return full ? ppm : ppm / 2;
}

static const char *const KEY_NEIGHBOURS[26] = {
    "qwsz", "vghn", "xdfv", "serfcx", "wsdr", "drtgvc", "ftyhbv", "gyujnb", "ujko",
    "huikmn", "jiolm", "kop", "njk", "bhjm", "iklp", "ol", "wa", "edft", "awedxz",
    "rfgy", "yhji", "cfgb", "qase", "zsdc", "tghu", "asx"};

static uint32_t lower_ascii(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* A letter typed instead of c (lower case): a keyboard neighbour mostly. */
static uint32_t wrong_letter(Rng *r, uint32_t c)
{
    if (c >= 'a' && c <= 'z' && chance(r, 700000)) {
        const char *nb = KEY_NEIGHBOURS[c - 'a'];
        return (uint32_t)(unsigned char)nb[below(r, (uint32_t)strlen(nb))];
    }
    uint32_t x;
    do
        x = 'a' + below(r, 26);
    while (x == c);
    return x;
}

/* Decode UTF-8 into code points; returns the count, or -1 if invalid/too long. */
static int utf8_decode(const char *s, uint32_t *cp, int max)
{
    const unsigned char *p = (const unsigned char *)s;
    int n = 0;
    while (*p) {
        uint32_t c;
        int len;
        if (*p < 0x80) {
            c = *p;
            len = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            c = *p & 0x1F;
            len = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            c = *p & 0x0F;
            len = 3;
        } else if ((*p & 0xF8) == 0xF0) {
            c = *p & 0x07;
            len = 4;
        } else {
            return -1;
        }
        for (int k = 1; k < len; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return -1;
            c = (c << 6) | (p[k] & 0x3F);
        }
        if (n >= max)
            return -1;
        cp[n++] = c;
        p += len;
    }
    return n;
}

static void utf8_encode(const uint32_t *cp, int n, char *out, size_t cap)
{
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        uint32_t c = cp[i];
        char b[4];
        size_t len;
        if (c < 0x80) {
            b[0] = (char)c;
            len = 1;
        } else if (c < 0x800) {
            b[0] = (char)(0xC0 | (c >> 6));
            b[1] = (char)(0x80 | (c & 0x3F));
            len = 2;
        } else if (c < 0x10000) {
            b[0] = (char)(0xE0 | (c >> 12));
            b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            b[2] = (char)(0x80 | (c & 0x3F));
            len = 3;
        } else {
            b[0] = (char)(0xF0 | (c >> 18));
            b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
            b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
            b[3] = (char)(0x80 | (c & 0x3F));
            len = 4;
        }
        if (o + len >= cap)
            break;
        memcpy(out + o, b, len);
        o += len;
    }
    out[o] = '\0';
}

static void copy_str(char *out, const char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* One keying error on a Latin-script name, on code points: insertion,
 * deletion, substitution or transposition of adjacent letters. */
static void make_typo(Rng *r, const char *in, char *out, size_t cap)
{
    uint32_t cp[66];
    int n = utf8_decode(in, cp, 64);
    if (n <= 0) {
        copy_str(out, in, cap);
        return;
    }
    int op = (int)below(r, 4);
    if (n < 3 && (op == 1 || op == 3))
        op = 2;
    if (op == 3) {                   /* transpose i, i+1 (keep the initial) */
        int start = 1 + (int)below(r, (uint32_t)(n - 2)), done = 0;
        for (int k = 0; k < n - 2 && !done; k++) {
            int i = 1 + (start - 1 + k) % (n - 2);
            if (cp[i] != cp[i + 1]) {
                uint32_t t = cp[i];
                cp[i] = cp[i + 1];
                cp[i + 1] = t;
                done = 1;
            }
        }
        if (!done)
            op = 2;
    }
    if (op == 0) {                   /* insert after position 0..n-1 */
        int pos = 1 + (int)below(r, (uint32_t)n);
        uint32_t prev = lower_ascii(cp[pos - 1]);
        uint32_t c = chance(r, 500000) && prev >= 'a' && prev <= 'z' ? prev : wrong_letter(r, prev);
        for (int i = n; i > pos; i--)
            cp[i] = cp[i - 1];
        cp[pos] = c;
        n++;
    } else if (op == 1) {            /* delete one letter, not the initial */
        int pos = 1 + (int)below(r, (uint32_t)(n - 1));
        for (int i = pos; i < n - 1; i++)
            cp[i] = cp[i + 1];
        n--;
    } else if (op == 2) {            /* substitute, keeping the case */
        int pos = (int)below(r, (uint32_t)n);
        uint32_t c = cp[pos];
        int upper = c >= 'A' && c <= 'Z';
        uint32_t w = wrong_letter(r, lower_ascii(c));
        cp[pos] = upper ? w - 32 : w;
    }
    utf8_encode(cp, n, out, cap);
}

static void record_one_name(Rng *r, int full, const Name *nm, char *out, unsigned *tags)
{
    const char *s = nm->canon;
    if (chance(r, rate(full, P_VARIANT))) {
        s = nm->var[below(r, (uint32_t)nm->nvar)];
        *tags |= T_VARIANT;
    }
    if (chance(r, rate(full, P_NAME_TYPO))) {
        make_typo(r, s, out, NAMEBUF);
        *tags |= T_NAME_TYPO;
    } else {
        copy_str(out, s, NAMEBUF);
    }
}

static void record_names(Rng *r, int full, int culture, const Person *p,
                         char *given, char *family, unsigned *tags)
{
    if (culture != C_EASTAFRICA && chance(r, rate(full, P_SCRIPT))) {
        copy_str(given, p->given->script ? p->given->script : p->given->canon, NAMEBUF);
        copy_str(family, p->family->script ? p->family->script : p->family->canon, NAMEBUF);
        *tags |= T_SCRIPT;
    } else {
        record_one_name(r, full, p->given, given, tags);
        record_one_name(r, full, p->family, family, tags);
    }
    if (chance(r, rate(full, P_FAMILY_MISS)))
        family[0] = '\0';
    if (family[0] && chance(r, rate(full, P_SWAP))) {
        char tmp[NAMEBUF];
        memcpy(tmp, given, NAMEBUF);
        memcpy(given, family, NAMEBUF);
        memcpy(family, tmp, NAMEBUF);
        *tags |= T_SWAPPED;
    }
}

/* birth_date and birth_precision as recorded; returns the precision text */
static const char *record_birth(Rng *r, int full, const Person *p, char *out, unsigned *tags)
{
    uint32_t u = below(r, 1000);
    int prec;                        /* 0 day, 1 month, 2 year */
    if (p->year < 1980)
        prec = u < 450 ? 2 : u < 500 ? 1 : 0;
    else if (p->year <= ADULT_YEAR)
        prec = u < 200 ? 2 : u < 250 ? 1 : 0;
    else
        prec = u < 50 ? 2 : 0;
    if (chance(r, rate(full, P_DATE_MISS))) {
        out[0] = '\0';
        return "";
    }
    int y = p->year, m = p->month, d = p->day;
    if (chance(r, rate(full, P_DATE_TYPO))) {
        int ops[3], nops = 0;
        if (prec == 0 && d <= 12 && d != m)
            ops[nops++] = 0;         /* day and month swapped */
        if (prec == 0)
            ops[nops++] = 1;         /* a day digit changed */
        ops[nops++] = 2;             /* year +/- 1 */
        int op = ops[below(r, (uint32_t)nops)];
        if (op == 0) {
            int t = d;
            d = m;
            m = t;
        } else if (op == 1) {
            int cand[16], nc = 0, dim = days_in_month(y, m);
            for (int t = 0; t <= 3; t++) {
                int nd = t * 10 + d % 10;
                if (t != d / 10 && nd >= 1 && nd <= dim)
                    cand[nc++] = nd;
            }
            for (int o = 0; o <= 9; o++) {
                int nd = (d / 10) * 10 + o;
                if (o != d % 10 && nd >= 1 && nd <= dim)
                    cand[nc++] = nd;
            }
            d = cand[below(r, (uint32_t)nc)];
        } else {
            y += y < REF_YEAR && chance(r, 500000) ? 1 : -1;
            if (m == 2 && d == 29 && !is_leap(y))
                d = 28;
        }
        *tags |= T_DATE_TYPO;
    }
    char *q = put_digits(out, (uint32_t)y, 4);
    if (prec <= 1) {
        *q++ = '-';
        q = put_digits(q, (uint32_t)m, 2);
    }
    if (prec == 0) {
        *q++ = '-';
        q = put_digits(q, (uint32_t)d, 2);
    }
    *q = '\0';
    return prec == 0 ? "day" : prec == 1 ? "month" : "year";
}

static uint64_t g_nid_offset;

static uint64_t national_id(uint32_t entity)
{
    /* a bijection of the entity number onto 10-digit numbers 1e9 .. 1e10-1 */
    return 1000000000ULL + ((uint64_t)entity * 4294967291ULL + g_nid_offset) % 9000000000ULL;
}

static void record_nid(Rng *r, int full, const Person *p, char *out, unsigned *tags)
{
    out[0] = '\0';
    if (!p->has_nid)
        return;
    if (chance(r, rate(full, P_ID_OMIT))) {
        *tags |= T_ID_MISSING;
        return;
    }
    uint64_t v = national_id(p->entity);
    for (int i = 9; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
    out[10] = '\0';
    if (chance(r, rate(full, P_ID_TYPO))) {
        int pos = (int)below(r, 9), done = 0;
        if (chance(r, 400000))
            for (int k = 0; k < 9 && !done; k++) {
                int i = (pos + k) % 9;
                if (out[i] != out[i + 1]) {
                    char t = out[i];
                    out[i] = out[i + 1];
                    out[i + 1] = t;
                    done = 1;
                }
            }
        if (!done) {
            int i = (int)below(r, 10);
            out[i] = (char)('0' + (out[i] - '0' + 1 + (int)below(r, 9)) % 10);
        }
        *tags |= T_ID_TYPO;
    }
}

static uint32_t new_phone(Rng *r)
{
    static const uint32_t OPER[6] = {1, 2, 3, 5, 8, 9};
    return 600000000u + OPER[below(r, 6)] * 10000000u + below(r, 10000000);
}

static char *put_phone(char *p, uint32_t num, uint32_t fmt)
{
    char d[9];
    for (int i = 8; i >= 0; i--) {
        d[i] = (char)('0' + num % 10);
        num /= 10;
    }
    if (fmt < 35) {                  /* +252612345678 */
        memcpy(p, "+252", 4);
        memcpy(p + 4, d, 9);
        return p + 13;
    }
    if (fmt < 65) {                  /* 0612345678 */
        *p = '0';
        memcpy(p + 1, d, 9);
        return p + 10;
    }
    if (fmt < 85) {                  /* 612345678 */
        memcpy(p, d, 9);
        return p + 9;
    }
    memcpy(p, "+252 ", 5);           /* +252 61 234 5678 */
    memcpy(p + 5, d, 2);
    p[7] = ' ';
    memcpy(p + 8, d + 2, 3);
    p[11] = ' ';
    memcpy(p + 12, d + 5, 4);
    return p + 16;
}

/* Relationship of a member to a new head when only part of a household is
 * registered again and the head is not among them. */
static int rel_to_new_head(int nh, const Person *m, int newhead_idx)
{
    switch (nh) {
    case R_HEAD:
        return m->rel;
    case R_SPOUSE:
        return m->rel == R_HEAD ? R_SPOUSE : m->rel == R_CHILD ? R_CHILD
             : m->rel == R_GRANDCHILD ? R_GRANDCHILD : R_OTHER;
    case R_CHILD:
        if (m->rel == R_HEAD || m->rel == R_SPOUSE)
            return R_PARENT;
        if (m->rel == R_CHILD)
            return R_SIBLING;
        if (m->rel == R_GRANDCHILD)
            return m->parent == newhead_idx ? R_CHILD : R_OTHER;
        return R_OTHER;
    case R_PARENT:
        return m->rel == R_HEAD || m->rel == R_SIBLING ? R_CHILD
             : m->rel == R_CHILD ? R_GRANDCHILD : R_OTHER;
    case R_SIBLING:
        return m->rel == R_HEAD ? R_SIBLING : m->rel == R_PARENT ? R_PARENT : R_OTHER;
    default:
        return R_OTHER;
    }
}

static uint64_t g_next_id;        /* record id */
static uint64_t g_tag_count[NTAGS];

/* Emit the records of one registration of (part of) a household.
 *   full     1 for a re-registration (full error rates), 0 for the first
 *   indiv    relationship for an individual duplicate, or -1 */
static void emit_registration(const Household *hh, uint32_t mask, uint32_t village,
                              uint64_t hid, uint64_t sub, int full, int indiv, Rng *r)
{
    /* The registration's head: the head, else the spouse, else the eldest
     * adult, else the first member; the head's record comes first. */
    int newhead = -1;
    for (int i = 0; i < hh->n; i++) {
        if (!(mask & (1u << i)))
            continue;
        const Person *p = &hh->m[i];
        if (newhead < 0 || p->rel == R_HEAD ||
            (p->rel == R_SPOUSE && hh->m[newhead].rel != R_HEAD) ||
            (hh->m[newhead].rel != R_HEAD && hh->m[newhead].rel != R_SPOUSE &&
             p->year <= ADULT_YEAR && p->year < hh->m[newhead].year))
            newhead = i;
    }
    int nh_rel = newhead >= 0 ? hh->m[newhead].rel : R_HEAD;
    int order[MAX_MEMBERS], norder = 0;
    if (newhead >= 0)
        order[norder++] = newhead;
    for (int i = 0; i < hh->n; i++)
        if ((mask & (1u << i)) && i != newhead)
            order[norder++] = i;
    uint32_t head_phone = 0;
    for (int k = 0; k < norder; k++) {
        int i = order[k];
        const Person *p = &hh->m[i];
        unsigned tags = 0;
        char given[NAMEBUF], family[NAMEBUF], birth[16], nid[12];
        int rel = indiv >= 0 ? indiv : i == newhead ? R_HEAD : rel_to_new_head(nh_rel, p, newhead);

        record_names(r, full, hh->culture, p, given, family, &tags);
        const char *prec = record_birth(r, full, p, birth, &tags);
        int sex = p->sex;
        if (chance(r, rate(full, P_SEX_FLIP))) {
            sex = !sex;
            tags |= T_SEX_TYPO;
        }
        record_nid(r, full, p, nid, &tags);

        uint32_t phone = 0;
        if (p->phone) {
            uint32_t u = below(r, PPM);
            if (u < rate(full, P_PHONE_NEW))
                phone = new_phone(r);
            else if (u < rate(full, P_PHONE_NEW) + rate(full, P_PHONE_OMIT))
                phone = 0;
            else
                phone = p->phone;
        } else if (p->share_phone && indiv < 0 && i != newhead && head_phone) {
            phone = head_phone;
            tags |= T_SHARED_PHONE;
        }
        if (i == newhead)
            head_phone = phone;
        uint32_t fmt = below(r, 100);

        if (full)
            tags |= T_DUP;
        if (village != hh->village)
            tags |= T_MOVED;
        if (p->twin)
            tags |= T_TWIN;
        if (p->junior)
            tags |= T_JUNIOR;

        char line[4 * NAMEBUF + 256];
        char *q = line;
        q = put_u64(q, ++g_next_id);
        *q++ = ',';
        q = put_u64(q, p->entity);
        *q++ = ',';
        q = put_u64(q, hid);
        *q++ = ',';
        q = put_u64(q, sub);
        *q++ = ',';
        q = put_field(q, given);
        *q++ = ',';
        q = put_field(q, family);
        *q++ = ',';
        q = put_field(q, birth);
        *q++ = ',';
        q = put_field(q, prec);
        *q++ = ',';
        *q++ = sex == SEX_M ? 'M' : 'F';
        *q++ = ',';
        q = put_field(q, nid);
        *q++ = ',';
        if (phone)
            q = put_phone(q, phone, fmt);
        *q++ = ',';
        q = put_field(q, g_vil[village].code);
        *q++ = ',';
        q = put_field(q, REL_NAME[rel]);
        *q++ = ',';
        int first = 1;
        for (int t = 0; t < NTAGS; t++)
            if (tags & (1u << t)) {
                if (!first)
                    *q++ = ';';
                first = 0;
                q = put_field(q, TAG_NAME[t]);
                g_tag_count[t]++;
            }
        *q++ = '\n';
        out_bytes(line, (size_t)(q - line));
    }
}

/* ------------------------------------------------------------------ */
/* Duplicate plan                                                      */
/* ------------------------------------------------------------------ */

enum { E_HOUSEHOLD, E_INDIVIDUAL };

typedef struct {
    uint32_t h;                /* household (generation number) */
    uint32_t host;             /* individual: host household */
    uint16_t mask;             /* household: members registered */
    uint8_t kind;
    uint8_t idx;               /* household: registration number 1..2;
                                * individual: member index */
} Event;

static Event *g_ev;
static size_t g_nev, g_capev;

static void push_event(Event e)
{
    if (g_nev == g_capev) {
        g_capev = g_capev ? g_capev * 2 : 4096;
        g_ev = xrealloc(g_ev, g_capev * sizeof(Event));
    }
    g_ev[g_nev++] = e;
}

static int popcount16(uint32_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* Pass 1: generate households until the records reach N; plan duplicates. */
static void plan(uint64_t records, uint32_t dup_ppm)
{
    size_t cap = 1024;
    g_hh_size = xmalloc(cap);
    g_hh_village = xmalloc(cap * sizeof(uint32_t));
    g_hh_first = NULL;                /* entities are set after this pass */
    uint32_t *first = xmalloc(cap * sizeof(uint32_t));
    uint64_t count = 0, persons = 0;
    Household hh;
    for (uint32_t h = 0; count < records; h++) {
        gen_household(h, &hh);
        Rng r;
        rng_stream(&r, S_DUPPLAN, h, 0);
        Event evs[2 + MAX_MEMBERS];
        int nev = 0;
        uint64_t extra = 0;
        uint32_t full = (1u << hh.n) - 1;
        if (chance(&r, dup_ppm)) {
            int nreg = chance(&r, 100000) ? 2 : 1;
            for (int k = 1; k <= nreg; k++) {
                uint32_t mask = full;
                if (hh.n >= 2 && !chance(&r, 750000)) {
                    int tries = 0;
                    do
                        mask = (uint32_t)rng_next(&r) & full;
                    while ((mask == 0 || mask == full) && ++tries < 32);
                    if (mask == 0 || mask == full)
                        mask = 1u << below(&r, (uint32_t)hh.n);
                    /* a household registration has an adult in it */
                    uint32_t adults = 0;
                    for (int i = 0; i < hh.n; i++)
                        if (hh.m[i].year <= ADULT_YEAR)
                            adults |= 1u << i;
                    if (adults && !(mask & adults)) {
                        int na = popcount16(adults), pick = (int)below(&r, (uint32_t)na);
                        for (int i = 0; i < hh.n; i++)
                            if ((adults & (1u << i)) && pick-- == 0)
                                mask |= 1u << i;
                    }
                }
                Event e = {h, 0, (uint16_t)mask, E_HOUSEHOLD, (uint8_t)k};
                evs[nev++] = e;
                extra += (uint64_t)popcount16(mask);
            }
        }
        for (int i = 0; i < hh.n; i++)
            if (chance(&r, 20000)) {
                Event e = {h, 0, 0, E_INDIVIDUAL, (uint8_t)i};
                evs[nev++] = e;
                extra += 1;
            }
        uint64_t n = (uint64_t)hh.n;
        if (count + n + extra > records) {
            nev = 0;                 /* near the end: no duplicates */
            extra = 0;
            if (count + n > records) {
                g_cap_h = h;         /* the last household, cut short */
                g_cap_n = (int)(records - count);
                n = (uint64_t)g_cap_n;
            }
        }
        if (h == cap) {
            cap *= 2;
            g_hh_size = xrealloc(g_hh_size, cap);
            g_hh_village = xrealloc(g_hh_village, cap * sizeof(uint32_t));
            first = xrealloc(first, cap * sizeof(uint32_t));
        }
        g_hh_size[h] = (uint8_t)n;
        g_hh_village[h] = hh.village;
        first[h] = (uint32_t)persons;
        persons += n;
        for (int k = 0; k < nev; k++)
            push_event(evs[k]);
        count += n + extra;
        g_nhh = h + 1;
    }
    g_hh_first = first;
}

/* Hosts for individual duplicates: mostly a household of the same district. */
static void choose_hosts(void)
{
    uint32_t *start = xcalloc(g_ndist + 1, sizeof(uint32_t));
    uint32_t *list = xmalloc((size_t)g_nhh * sizeof(uint32_t));
    for (uint32_t h = 0; h < g_nhh; h++)
        start[g_vil[g_hh_village[h]].dist_id + 1]++;
    for (uint32_t d = 0; d < g_ndist; d++)
        start[d + 1] += start[d];
    uint32_t *fill = xcalloc(g_ndist, sizeof(uint32_t));
    for (uint32_t h = 0; h < g_nhh; h++) {
        uint32_t d = g_vil[g_hh_village[h]].dist_id;
        list[start[d] + fill[d]++] = h;
    }
    free(fill);
    for (size_t k = 0; k < g_nev; k++) {
        Event *e = &g_ev[k];
        if (e->kind != E_INDIVIDUAL)
            continue;
        Rng r;
        rng_stream(&r, S_HOST, e->h, e->idx);
        uint32_t d = g_vil[g_hh_village[e->h]].dist_id;
        uint32_t s = start[d], n = start[d + 1] - s;
        uint32_t host = e->h;
        if (g_nhh > 1) {
            if (n > 1 && chance(&r, 800000)) {
                uint32_t w = list[s + below(&r, n - 1)];
                host = w == e->h ? list[s + n - 1] : w;
            } else {
                uint32_t w = below(&r, g_nhh - 1);
                host = w == e->h ? g_nhh - 1 : w;
            }
        }
        e->host = host;
    }
    free(start);
    free(list);
}

/* ------------------------------------------------------------------ */
/* Command line                                                        */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fputs("usage: registry_gen --records N [--seed S] [--dup-rate R] [--no-header]\n"
          "  --records N    number of CSV records to write (1..100000000)\n"
          "  --seed S       unsigned 64-bit seed (default 1)\n"
          "  --dup-rate R   share of households registered again, 0..1 (default 0.15)\n"
          "  --no-header    do not write the header line\n"
          "Writes synthetic registry records with ground truth as CSV to stdout.\n", f);
}

static void bad_arg(const char *arg, const char *why)
{
    fprintf(stderr, "registry_gen: %s: %s (see registry_gen --help)\n", arg, why);
    exit(2);
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* A decimal 0..1 as parts per million, rounded half up; no locale. */
static int parse_rate(const char *s, uint32_t *ppm)
{
    uint64_t ip = 0, frac = 0;
    int nint = 0, nfrac = 0, round_up = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (ip > 10)
            return 0;
        ip = ip * 10 + (uint64_t)(*s - '0');
        nint++;
    }
    if (*s == '.') {
        s++;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (nfrac < 6)
                frac = frac * 10 + (uint64_t)(*s - '0');
            else if (nfrac == 6)
                round_up = *s >= '5';
            nfrac++;
        }
    }
    if (*s || (nint == 0 && nfrac == 0))
        return 0;
    for (int k = nfrac; k < 6; k++)
        frac *= 10;
    uint64_t v = ip * 1000000 + frac + (uint64_t)round_up;
    if (v > 1000000)
        return 0;
    *ppm = (uint32_t)v;
    return 1;
}

int main(int argc, char **argv)
{
    uint64_t records = 0;
    int have_records = 0, header = 1;
    uint32_t dup_ppm = 150000;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        const char *opts[3] = {"--records", "--seed", "--dup-rate"};
        int which = -1;
        if (strcmp(a, "--no-header") == 0) {
            header = 0;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        for (int k = 0; k < 3; k++) {
            size_t len = strlen(opts[k]);
            if (strncmp(a, opts[k], len) == 0 && (a[len] == '\0' || a[len] == '=')) {
                which = k;
                if (a[len] == '=')
                    val = a + len + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    bad_arg(opts[k], "missing value");
            }
        }
        if (which < 0)
            bad_arg(a, "unknown argument");
        if (which == 0) {
            if (!parse_u64(val, &records) || records < 1 || records > MAX_RECORDS)
                bad_arg("--records", "must be an integer from 1 to 100000000");
            have_records = 1;
        } else if (which == 1) {
            if (!parse_u64(val, &g_seed))
                bad_arg("--seed", "must be an unsigned 64-bit integer");
        } else {
            if (!parse_rate(val, &dup_ppm))
                bad_arg("--dup-rate", "must be a decimal number from 0 to 1");
        }
    }
    if (!have_records)
        bad_arg("--records", "is required");

#ifdef SIGPIPE
    signal(SIGPIPE, SIG_IGN);        /* report EPIPE as a write error, exit 1 */
#endif
    g_obuf = xmalloc(OBUF_SIZE);
    if (setvbuf(stdout, NULL, _IOFBF, OBUF_SIZE) != 0)
        fputs("registry_gen: warning: could not set the output buffer\n", stderr);

    {
        Rng r;
        rng_stream(&r, S_MISC, 0, 0);
        g_nid_offset = rng_next(&r) % 9000000000ULL;
    }
    init_names();
    init_villages(records, dup_ppm);
    plan(records, dup_ppm);
    choose_hosts();

    /* output order: households shuffled, then duplicate events shuffled */
    uint32_t *perm = xmalloc((size_t)g_nhh * sizeof(uint32_t));
    uint32_t *hid = xmalloc((size_t)g_nhh * sizeof(uint32_t));
    {
        Rng r;
        rng_stream(&r, S_SHUFFLE, 0, 0);
        for (uint32_t i = 0; i < g_nhh; i++)
            perm[i] = i;
        for (uint32_t i = g_nhh; i > 1; i--) {
            uint32_t j = below(&r, i), t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
        for (uint32_t i = 0; i < g_nhh; i++)
            hid[perm[i]] = i + 1;
        rng_stream(&r, S_SHUFFLE, 1, 0);
        for (size_t i = g_nev; i > 1; i--) {
            size_t j = (size_t)(rng_next(&r) % i);
            Event t = g_ev[i - 1];
            g_ev[i - 1] = g_ev[j];
            g_ev[j] = t;
        }
    }

    if (header) {
        static const char H[] = "id,entity,household,submission,given_name,family_name,"
                                "birth_date,birth_precision,sex,national_id,phone,"
                                "admin_area_code,relationship,tags\n";
        out_bytes(H, sizeof H - 1);
    }

    Household hh;
    for (uint32_t pos = 0; pos < g_nhh; pos++) {
        uint32_t h = perm[pos];
        gen_household(h, &hh);
        Rng r;
        rng_stream(&r, S_REG, h, 0);
        emit_registration(&hh, (1u << hh.n) - 1, hh.village, hid[h], hid[h], 0, -1, &r);
    }

    uint64_t next_hid = g_nhh, n_hh_events = 0, next_indiv;
    for (size_t k = 0; k < g_nev; k++)
        if (g_ev[k].kind == E_HOUSEHOLD)
            n_hh_events++;
    next_indiv = (uint64_t)g_nhh + n_hh_events;
    for (size_t k = 0; k < g_nev; k++) {
        const Event *e = &g_ev[k];
        gen_household(e->h, &hh);
        Rng r;
        if (e->kind == E_HOUSEHOLD) {
            rng_stream(&r, S_REG, e->h, e->idx);
            uint32_t u = below(&r, 100), v = hh.village;
            if (u >= 85)
                v = village_in_other_region(&r, v);
            else if (u >= 70)
                v = other_village_in_district(&r, v);
            ++next_hid;
            emit_registration(&hh, e->mask, v, next_hid, next_hid, 1, -1, &r);
        } else {
            rng_stream(&r, S_REG, e->h, 16u + e->idx);
            const Person *p = &hh.m[e->idx];
            int rel = p->year > ADULT_YEAR ? R_GRANDCHILD : chance(&r, 600000) ? R_SIBLING : R_OTHER;
            ++next_indiv;
            emit_registration(&hh, 1u << e->idx, g_hh_village[e->host], hid[e->host],
                              next_indiv, 1, rel, &r);
        }
    }

    free(perm);
    free(hid);
    out_flush();
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout))
        die_write();
    if (fclose(stdout) != 0)
        die_write();

    if (getenv("REGISTRY_GEN_STATS")) {
        fprintf(stderr, "households %u, villages %u, persons %u, records %llu, dup events %zu\n",
                g_nhh, g_nvil, g_hh_first[g_nhh - 1] + g_hh_size[g_nhh - 1],
                (unsigned long long)g_next_id, g_nev);
        for (int t = 0; t < NTAGS; t++)
            fprintf(stderr, "  %-12s %llu\n", TAG_NAME[t], (unsigned long long)g_tag_count[t]);
    }
    return 0;
}
