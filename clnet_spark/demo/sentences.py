"""Sentence templates of the demo corpus, one tuple per purpose.

Templates are ``str.format`` strings whose ``{slots}`` :class:`~clnet_spark.demo.text.TextMaker`
fills. Slots that carry a search term are named after it (``{cl}``, ``{dl}``, ``{drug}``,
``{misper}``, ...); every other slot and every template here is neutral: it matches no demo
search term, which ``tests/demo/test_generator.py`` checks. Traps are the exception and live
in :data:`TRAPS`, each counted when used.
"""

from __future__ import annotations

from typing import Final

OFFENCE_SENTENCES: Final = {
    "theft": (
        "Suspect took a {item} left unattended at {place}.",
        "A {item} was taken from the victim's garden on {street}.",
        "Tools taken from a works van parked on {street}; suspect seen on CCTV.",
    ),
    "theft_person": ("Victim's phone snatched from her hand on {street} by a male on a bicycle.",),
    "shoplifting": (
        "Offender entered {shop} in {area} and concealed {item} before leaving without paying.",
        "Shoplifting at {shop}: suspect known to staff, detained by security.",
        "Repeat theft from {shop}; goods to the value of {n}0 pounds taken.",
    ),
    "burglary": (
        "Rear door forced at the victim's address on {street}; {item} taken.",
        "House on {street} entered while the occupants were away; {item} and jewellery taken.",
    ),
    "burglary_business": ("Break-in at a unit on the {area} trading estate; {item} taken.",),
    "assault_injury": (
        "Victim punched in the face outside {place} following a dispute; cut to the lip.",
        "Domestic incident on {street}: victim pushed into a door frame, bruising to the arm.",
    ),
    "assault": ("Victim shoved and threatened during an argument at {place}; no injuries.",),
    "criminal_damage": (
        "Windows smashed at an address on {street}.",
        "Victim's car scratched along the driver's side on {street}.",
    ),
    "robbery": (
        "Victim approached on {street} by two males who demanded his phone; {weapon} shown.",
    ),
    "weapon": ("Suspect seen with {weapon} on {street}; it was recovered after a search.",),
    "weapon_other": ("Suspect found with a knuckleduster in his waistband at {place}.",),
    "manslaughter": (
        "Victim died in hospital after a single punch outside {place}; suspect arrested there.",
    ),
    "unmapped": ("Recorded under a local code pending review; details to follow.",),
}

DRUG_POSSESSION: Final = (
    "Subject stopped and searched on {street}; found in possession of a small amount of {drug}.",
    "Search under s23 found a quantity of {drug} in his jacket pocket; community resolution.",
    "Found with {drug} at {place}; admits it was for personal use.",
    "Vehicle stopped on {street}: driver in possession of {drug}.",
)
DRUG_INTEL: Final = (
    "Information received that subject is a regular user of {drug} and buys in {area} centre.",
    "Subject seen using {drug} in the park near {street}.",
    "Intelligence suggests subject owes money to a local dealer for {drug}.",
    "Subject known to use {drug}; family concerned about his health.",
    "Subject said to be selling small amounts of {drug} to friends.",
)
DRUG_CUSTODY: Final = (
    "Arrested for possession of {drug} following a stop search on {street}.",
    "DP arrested on a warrant; {drug} found on his person at booking in.",
    "Detained under s23 and {drug} recovered. Interviewed and released.",
)
DRUG_PRISON: Final = (
    "Prisoner placed on report after {drug} was found in his cell.",
    "Intelligence that the prisoner is using {drug} on the wing.",
    "Visitor suspected of passing {drug} to the prisoner during a visit.",
)
TWO_DRUGS: Final = (
    "Also found with {drug2}.",
    "Believed to use {drug2} as well.",
)
LOCAL_DEALING: Final = (
    "Local dealer arrested for {pwits} {drug} from his flat on {street}; scales and bags found.",
    "{pwits}: {n} deals of {drug} found in the car and cash seized.",
    "Subject supplying {drug} to students at the college; charged with {pwits}.",
)
LOCAL_DRUGS_LINE: Final = (
    "Subject believed to run a small local {dl} from his flat in {area}; no further detail.",
)
INTEL: Final = (
    "Subject believed to be handling stolen goods at car boot sales in {area}.",
    "Subject linked to anti-social behaviour around {place}.",
    "Information that subject is driving whilst disqualified in {vehicle}.",
    "Neighbour dispute on {street}; subject making threats.",
    "Subject is said to be carrying {weapon} for protection.",
    "Subject seen trying car door handles on {street} late at night.",
    "Subject has been sending abusive messages to an ex-partner.",
)
INTEL_MISPER: Final = (
    "Subject was a {misper} last week and has since returned home.",
    "Subject was recorded as a {misper} twice this month; school informed.",
)
CUSTODY: Final = (
    "Arrested for {offence} at {place}; interviewed and charged.",
    "DP arrested on suspicion of {offence}; released under investigation.",
    "Detained for breach of bail conditions on {street}.",
    "Arrested drunk and disorderly in {area} centre; cautioned.",
)
PRISON: Final = (
    "Prisoner due for release from {prison} on {date}; licence bars contact with the victim.",
    "Prisoner transferred from {prison} to {prison2}.",
    "Prisoner involved in a fight on the wing at {prison}; placed on basic regime.",
    "Forthcoming release: {prison}, {date}. Offender manager informed.",
)
MISPER_CHILD: Final = (
    "{misper} report: {age}-year-old not back from school in {area}. Found at a friend's house.",
    "{misper} from care placement in {area}; located by staff in {found} and returned.",
    "Young person {mispermiss} after an argument at home; returned of own accord.",
    "{age}-year-old {mispermiss} overnight; found in {found}. Return interview completed.",
)
MISPER_ELDERLY: Final = (
    "{misper}: elderly male with dementia left his care home in {area}; found confused at {place}.",
    "Elderly female with dementia {mispermiss} from her home on {street}; found by a neighbour.",
)
MISPER_ADULT: Final = (
    "Adult {misper}: left a note, phone off; found safe at a relative's in {found}.",
    "{misper} enquiry: adult female not seen for two days; located in {found}.",
    "Adult {mispermiss} after a row with his partner; returned the next morning.",
)
UNLINKED_INTEL_DRUG: Final = (
    "Anonymous information that {drug} is being sold from a flat on {street}.",
    "Residents report {drug} users gathering at the underpass near {place}.",
    "Wraps of {drug} found in the stairwell of a tower block on {street}.",
    "Smell of {drug} reported coming from a flat on {street} most evenings.",
    "Community report of {drug} being sold from {vehicle} outside {place}.",
)
UNLINKED_INTEL_DRUGS_LINE: Final = (
    "People on {street} receiving bulk texts advertising a {dl}; number not recorded.",
    "A {dl} is being advertised to students in {area}; no subject identified.",
    "Caller says her son has been texted by a {dl}; no number kept.",
)
UNLINKED_INTEL_MISPER: Final = (
    "Youth worker concerned about a {misper} seen at {place}; no details known.",
    "Appeal posters for a {misper} put up near {place}.",
)
UNLINKED_INTEL_OTHER: Final = (
    "Young lads seen acting as a {runner} for a local dealer near {place}; not identified.",
    "Report of {running} on bikes around {street}.",
)
UNLINKED_INTEL: Final = (
    "Report of a suspicious vehicle, {vehicle}, parked on {street} for several hours.",
    "Graffiti tags appearing on bus shelters along {street}.",
    "Concerns about youths gathering at {place} at night.",
    "Fly-tipping reported again behind the shops on {street}.",
)
UNLINKED_CRIME: Final = (
    "Shed broken into overnight on {street}; {item} taken.",
    "Bus shelter glass smashed on {street}.",
    "Catalytic converter stolen from a car on {street}.",
)
UNLINKED_CRIME_DRUG: Final = (
    "Bag of {drug} found in a stairwell and handed in.",
    "Wraps of {drug} found in a bin on {street}; no suspect.",
)
BRIEFING: Final = (
    "Briefing note for the {area} neighbourhood priority: people of interest listed below.",
)

CL_COUNTY_LINE: Final = (
    "Intelligence indicates a {cl} operating from {home} into {dest}.",
    "Subjects believed to be involved in {cl} supply to {dest}, travelling by train from {home}.",
    "{cl} activity: the {line} is supplying users in {dest}.",
    "Arrested in {dest}; linked to {cl} exploitation of young people from {home}.",
    "Referral made to the {cl} team; {youth} believed to be exploited.",
    "Subject believed to be going country for a {cl} based in {home}.",
    "Young person from {home} found in a flat in {dest}; {cl} concerns raised.",
)
CL_DRUGS_LINE: Final = (
    "The {dl} known as the {line} is run from {home}.",
    "Texts advertising a {dl} sent to users in {dest}.",
    "Handset seized on arrest believed to be the {dl} handset for the {line}.",
    "Users in {dest} ordering from a {dl}, number {phone}.",
)
CL_CUCKOO: Final = (
    "The victim's flat in {dest} has been {cuckooed} by males from {home}.",
    "Address on {street}, {dest} is being used as a {cuckoo} by the group.",
    "Vulnerable adult's home {cuckooed}; victim too scared to ask them to leave.",
    "Officers attended a suspected {cuckoo} in {dest}; the tenant is a vulnerable adult.",
)
CL_CODE: Final = ("Flagged {code} on review.", "Marker {code} added.")
CL_MISS: Final = (
    "Possible {clmiss} activity from {home}.",
    "{home} {clmiss} suspected; subject seen in {dest}.",
)
CL_OTHER: Final = (
    "{youth} acting as a {runner} for the {line} in {dest}.",
    "Charged with {pwits} class A after a stop in {dest}.",
    "Believed to be {running} between {home} and {dest}.",
    "{youth} used as a {runner}; returned to {home} by train.",
)
CL_MISPER: Final = ("{youth} is a repeat {misper}, found in {dest} on the last two occasions.",)
CL_DRUG: Final = (
    "{n} wraps of {drug} recovered.",
    "Found with {drug} wraps plugged.",
    "Cash and {drug} deals found in the property.",
    "{drug} being supplied to users in {dest}.",
)
CL_DRUG_TWO: Final = ("{n} wraps of {drug} and {drug2} recovered.", "Selling {drug} and {drug2}.")
CL_DRUG_PAIR: Final = ("Selling {pair} in {dest}.", "Deals of {pair} found on him.")
CL_LINE: Final = (
    "The {line} is well known in {dest}.",
    "Handset for {phone} seized on arrest.",
    "Texts sent from {phone} to users in {dest}.",
)
CL_PRISON: Final = (
    "Prisoner believed to keep the {line} going from {prison} using an illicit phone.",
    "Release date {date}; expected to return to {home} and to associates there.",
)
CL_MISPER_REPORT: Final = (
    "{misper} report: {age}-year-old missing from {placement} in {home}. Found in {found}.",
    "Young person {mispermiss} for three days; located by {found} officers with cash and phones.",
    "{misper}: {youth} found in {found} at an address of concern.",
)
CL_MISPER_COUNTY_LINE: Final = (
    "{misper}: {youth} found in {found}; {cl} exploitation suspected.",
    "Return interview: taken to {found} by older males to sell; {cl} referral made.",
)
CL_MISPER_RETURN: Final = (
    "Return interview: {youth} would not say where he had been or who drove him.",
    "Found with a second phone and more cash than he could explain.",
)

FILLERS: Final = (
    "Officers attended and spoke to all parties.",
    "CCTV requested from the council.",
    "No further action at this time.",
    "Details passed to the neighbourhood team.",
    "Enquiries ongoing.",
    "Victim given a crime reference number and advice.",
    "Body-worn video recorded.",
    "House-to-house enquiries completed on {street}.",
    "Forensics attended; no prints recovered.",
    "Supervisor reviewed and agreed the plan.",
    "Update to follow from the OIC.",
    "Partner agencies informed.",
    "Reviewed by the local intelligence desk.",
)
MISPER_FILLERS: Final = (
    "Risk assessed as medium.",
    "Photos circulated to patrols.",
    "Safe and well check completed.",
    "Carers informed on return.",
)
NON_ASCII_FILLERS: Final = (
    "Statement taken at the café on {street}.",
    "Interpreter booked (język polski) for the family.",
    "Witness works at the piñata shop on {street}.",
    "Neighbour from Łódź gave a brief account.",
)

TRAPS: Final = {
    "crack_in_windscreen": "Object thrown at a parked car, leaving a crack in the windscreen.",
    "marathon_runner": "The victim is a keen marathon runner and was out training at the time.",
    "phone_line_down": "The phone line was down at the premises, so the alarm did not call out.",
    "line_manager": "Victim has told her line manager about the messages.",
    "county_line_road": "Car failed to stop and crossed the county line on the A5; pursuit ended.",
    "drugs_line_other_sense": "Caller says a hospital drugs line gave advice on her prescription.",
    "white_description": "Suspect described as a white male, slim build, in a dark hooded top.",
    "brown_description": "Suspect wearing a brown jacket and grey jogging bottoms.",
    "cuckoo_clock": "Items taken include a cuckoo clock and a laptop.",
    "dog_called_charlie": "The family's dog, called Charlie, was in the house at the time.",
    "spice_rack": "A kitchen spice rack was pulled off the wall during the incident.",
    "county_lines_awareness": "PCSO gave a county lines awareness talk to Year 9 at a school.",
    "dementia_misper": "",
    "decoy_phone_number": "Victim reports nuisance calls from {decoyphone} since the weekend.",
}
"""Background phrases that match (or nearly match) a search term outside county lines.

``dementia_misper`` has no phrase of its own: it counts the elderly missing-person reports of
:data:`MISPER_ELDERLY` whose text uses a MISPER form. ``decoy_phone_number`` puts a random UK
mobile number on a record that matches no term: a deal-line extractor must not make it
"active".
"""

PREFIXES: Final = {
    "crimes": ("", "", "MO: ", "Summary: "),
    "ims": ("", "", "Intelligence report: ", "INTEL: "),
    "icis": ("Circumstances of arrest: ", "Officer notes: ", ""),
    "pins": ("Prison intelligence: ", "Release notification. ", ""),
    "compact": ("", "Report narrative: ", ""),
}
