import { randomInt } from "node:crypto";
import { InvalidArgumentError } from "../../../errors/mod.ts";

/**
 * Experiment names: DVC's rules for a given name and a random readable
 * `<adjective>-<noun>` when none is given (5-letter adjectives, 4-letter
 * nouns, as DVC's names look; dxp's own word lists).
 */

const ADJECTIVES = `
  adept adult agile alert alien alike alive aloof amber amiss ample antsy apart aware azure
  baggy balmy basic beefy beige bendy bland blank bleak blond blunt bossy boxed brash brave
  brief briny brisk broad broke brown buggy bulky bumpy burly bushy canny cheap chief chill
  civic civil clean clear close comfy coral corny crazy crisp cross curly curvy cushy daily
  dandy dense dizzy dodgy dopey downy drawn dried dummy dusky dusty eager early eerie elder
  empty equal every exact extra faded faint famed fancy fatal fated feral fiery fifth filmy
  final first fishy fixed flaky fleet fluid foamy focal foggy frail frank fresh funky funny
  furry fuzzy gaudy gawky giant giddy gooey goofy grand grave great green grimy gross gruff
  gummy gusty hairy handy happy hardy harsh hasty hazel heady heavy hefty hilly humid husky
  hyper ideal inept inner ionic irate itchy jaded jazzy jerky jolly juicy jumbo jumpy khaki
  lanky large leafy leaky legal leggy level light lilac lined lofty loose lowly loyal lucid
  lucky lumpy lunar lyric magic major mangy manic mauve mealy meaty merry messy milky minor
  minty misty mixed modal moist moldy moody mossy mousy muddy murky mushy musty muted naive
  natty needy nerdy nervy newsy nifty ninth nippy noble noisy novel nutty oaken optic other
  outer overt ovoid pasty peppy perky pesky petty phony pious plain plump plush polar prime
  prior privy proud pudgy puffy pulpy punky pushy quasi quick quiet rabid rainy rapid raspy
  ratty ready regal rigid risky rocky roomy rough round rowdy royal ruddy runny rural rusty
  salty sandy sappy sassy savvy scaly scant scary seedy shady shaky sharp sheer shiny short
  showy silky silly slack slaty sleek slick slimy small smart smoky snowy soapy sober soggy
  solar solid sonic sooty sorry sound soupy spare spicy spiky split squat stale stark steep
  stern stiff still stony stout sudsy sulky sunny super surly sweet swift tacky taken tangy
  tardy tasty tawny teary techy tense tenth tepid terse testy thick third tidal tight timid
  tipsy tired tonal total tough toxic ultra unlit upper upset urban usual vague valid vapid
  vexed viral vital vivid vocal wacky waxen weary weedy weepy weird whiny white whole windy
  wispy witty woody woozy wordy wormy woven wrong young yummy zesty zippy zonal
`.trim().split(/\s+/);

const NOUNS = `
  acre apex arch aura axis bale bard bark barn bass bath bead beam bean bear bell belt bend
  bike bird blob boat bolt bone book boot bowl brew buck bulb bunk bush cake calf camp cape
  card cart cave cell chip city clam clay clog coal coat code coin cone cord cork corn cove
  crab crew crow cube cuff curd cusp dais dale dart dawn deck deer dent desk dial dice dish
  dock dome door dove drip drum duck dune dusk dust echo edge fang fawn fern film fire fish
  flag flax flea foal foam fork fort frog fuse gale gate gear germ gift glen glow glue goat
  gong gown gulf gull gust hail hare harp hawk haze heap hemp herb hill hilt hive hood hoof
  hook horn hose hull husk icon inch iris isle jade jazz jolt kale kelp kiln kink kite kiwi
  knob knot lace lake lamb lamp lane lark lava lawn leaf leek lens lily lime link lion loaf
  loch loft loom lute lynx malt mane mask mast maze mead meal mesa mica mill mint mist mitt
  mole moon moss mote moth mule muse myth nail nest newt node nook note oath okra opal oven
  pact page pail palm park path pawn peak pear peat pier pine pipe plot plow plum pond pony
  pool port prow puma quay quiz raft rail rain rake ramp reed reef reel rice rind ring rink
  road robe rock roof rook root rope rose ruby rune rung rust sage sail salt sand seal seed
  shed ship shoe silk silo sink skid skit slab slat sled sloe slug snow soap sock sofa soil
  song soot soup spar spud spur stag star stem stew stub sump surf swan tack tail tank tarn
  tarp teal tent thaw tide tile toad tofu tomb tome tram tree trio tuba tube tuna tusk twig
  vale vane vase veil vest vial vine void wadi wake wand ward wasp wave weir well whim wick
  wind wing wisp wolf wood wool worm wren yard yarn yeti yoke yolk yurt zest zinc zone
`.trim().split(/\s+/);

// What dulwich's `check_ref_format` refuses (DVC checks the full ref with it).
// deno-lint-ignore no-control-regex
const BAD_CHARS = /[\x00-\x20\x7f~^:?*[\\]/;

/**
 * Throws DVC's "Invalid exp name" error unless `ref` (the experiment's full
 * ref) passes Git's ref-name rules as dulwich checks them and `name` has no
 * `/`.
 */
export function checkExpName(name: string, ref: string): void {
  const bad = name.includes("/") || ref.includes("/.") || ref.startsWith(".") ||
    !ref.includes("/") || ref.includes("..") || BAD_CHARS.test(ref) || ref.endsWith("/") ||
    ref.endsWith(".") || ref.endsWith(".lock") || ref.includes("@{");
  if (bad) {
    throw new InvalidArgumentError(
      `Invalid exp name ${name}, the exp name must follow rules in https://git-scm.com/docs/git-check-ref-format`,
    );
  }
}

/** A random `<adjective>-<noun>` name. */
export function randomExpName(random: (n: number) => number = randomInt): string {
  return `${ADJECTIVES[random(ADJECTIVES.length)]}-${NOUNS[random(NOUNS.length)]}`;
}

/** How many different random names there are. */
export const RANDOM_NAME_COUNT = ADJECTIVES.length * NOUNS.length;
