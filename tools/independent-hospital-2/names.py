"""Name, street and town pools for a French regional hospital (Indre-et-Loire),
plus helpers that render the same person slightly differently in two systems."""
import unicodedata

MALE = ("Jean Pierre Michel Philippe Alain Nicolas Christophe Patrick Daniel Bernard Éric Frédéric "
        "Laurent Stéphane David Sébastien Julien Olivier Thierry Pascal Thomas Alexandre Jérôme "
        "François Vincent Antoine Maxime Romain Guillaume Mathieu Hugo Lucas Louis Gabriel Léo "
        "Raphaël Arthur Jules Adam Théo Noé Maël Ethan Nathan Enzo Clément Benoît Gérard Rémi "
        "Cédric Loïc Yannick Joël Hervé Jérémy Mohamed Karim Youssef Mehdi Rachid Amadou Moussa "
        "Jean-Pierre Jean-François Jean-Luc Jean-Marc Jean-Claude Pierre-Yves Marc-Antoine "
        "Jacques Henri Paul René Roger André Marcel Gilles Fabrice Damien Anthony Kévin Timothée "
        "Baptiste Valentin Quentin Bastien Aurélien Florian Grégoire Joseph Émile Côme Élie").split()
FEMALE = ("Marie Nathalie Isabelle Sylvie Catherine Françoise Christine Monique Valérie Sandrine "
          "Sophie Céline Stéphanie Aurélie Julie Émilie Camille Laura Manon Léa Chloé Emma Inès "
          "Jade Louise Alice Lina Rose Anna Mila Ambre Zoé Anaïs Élodie Mélanie Hélène Agnès "
          "Brigitte Martine Nicole Chantal Danielle Josiane Geneviève Joëlle Maëlle Clémence "
          "Océane Lucie Pauline Margaux Justine Charlotte Audrey Virginie Karine Fatima Nadia "
          "Yasmine Samira Leïla Aïcha Awa Mariam Marie-Christine Marie-Hélène Anne-Sophie "
          "Marie-Claire Marie-Thérèse Anne-Laure Jeanne Simone Odette Thérèse Madeleine Paulette "
          "Denise Colette Solène Gaëlle Nolwenn Laëtitia Bérénice Agathe Apolline Capucine").split()

# (surname, relative frequency) -- common names repeat a lot, as in any French town.
_SUR = """Martin 40|Bernard 22|Thomas 18|Petit 18|Robert 17|Richard 16|Durand 16|Dubois 16|Moreau 15
Laurent 14|Simon 14|Michel 13|Lefèvre 12|Leroy 12|Roux 11|David 11|Bertrand 11|Morel 10|Fournier 10
Girard 10|Bonnet 9|Dupont 9|Lambert 9|Fontaine 9|Rousseau 9|Vincent 8|Müller 3|Mercier 8|Blanc 8
Guérin 8|Boyer 7|Garnier 7|Chevalier 7|François 7|Legrand 7|Gauthier 7|Garcia 7|Perrin 7|Robin 7
Clément 6|Morin 6|Nicolas 6|Henry 6|Roussel 6|Mathieu 6|Masson 6|Marchand 6|Duval 6|Denis 6
Dumont 6|Lemaire 5|Noël 5|Meyer 5|Dufour 5|Meunier 5|Brun 5|Blanchard 5|Giraud 5|Joly 5
Rivière 5|Lucas 5|Brunet 5|Gaillard 5|Barbier 5|Arnaud 5|Martinez 5|Gérard 5|Roche 4|Renard 4
Schmitt 4|Roy 4|Leroux 4|Colin 4|Vidal 4|Caron 4|Picard 4|Roger 4|Fabre 4|Aubert 4|Lemoine 4
Renaud 4|Dumas 4|Lacroix 4|Olivier 4|Philippe 4|Bourgeois 4|Pierre 4|Benoît 4|Rey 4|Leclerc 4
Rolland 4|Guillaume 4|Lecomte 4|Lopez 4|Jean 4|Dupuy 4|Guillot 4|Hubert 4|Berger 4
Carpentier 3|Sanchez 3|Dupuis 3|Moulin 3|Louis 3|Deschamps 3|Huet 3|Vasseur 3|Perez 3|Boucher 3
Fleury 3|Royer 3|Klein 3|Jacquet 3|Adam 3|Poirier 3|Marty 3|Aubry 3|Guyot 3|Carré 3|Charles 3
Renault 3|Charpentier 3|Ménard 3|Maillard 3|Baron 3|Bertin 3|Bailly 3|Hervé 3|Schneider 3
Fernandez 3|Le Gall 3|Collet 3|Léger 3|Bouvier 3|Julien 3|Prévost 3|Millet 3|Perrot 3|Daniel 3
Le Roux 3|Cousin 3|Germain 3|Breton 3|Besson 3|Langlois 3|Rémy 3|Le Goff 3|Pelletier 3|Lévêque 3
Perrier 2|Leblanc 2|Barré 2|Lebrun 2|Marchal 2|Weber 2|Mallet 2|Hamon 2|Boulanger 2|Jacob 2
Monnier 2|Michaud 2|Rodriguez 2|Guichard 2|Gillet 2|Étienne 2|Grondin 2|Poulain 2|Tessier 2
Chevallier 2|Collin 2|Chauvin 2|Da Silva 3|Bouchet 2|Gay 2|Lemaître 2|Bénard 2|Maréchal 2
Humbert 2|Reynaud 2|Antoine 2|Hoarau 2|Perret 2|Barthélemy 2|Cordier 2|Pichon 2|Lejeune 2
Gilbert 2|Lamy 2|Delaunay 2|Pasquier 2|Carlier 2|Laporte 2|Nguyen 3|Benali 2|Haddad 2
Mansouri 2|Diallo 2|Traoré 2|Dos Santos 2|Ferreira 2|Pereira 2|De La Fontaine 1|Saint-Martin 1
N'Diaye 1|D'Almeida 1|Le Bihan 1|Desrosiers 1|Beaulieu 1|Chérif 1|Kaya 1|Yilmaz 1|Ouédraogo 1
Vannier 2|Chartier 2|Boisseau 1|Tranchant 1|Gaudin 2|Brossard 1|Bruneau 2|Goupil 1|Hérault 1"""
SURNAMES = []
SURNAME_W = []
for _chunk in _SUR.replace("\n", "|").split("|"):
    _n, _w = _chunk.rsplit(" ", 1)
    SURNAMES.append(_n)
    SURNAME_W.append(float(_w))

# Streets shared between towns on purpose: "rue Victor Hugo" exists in several of them.
COMMON_STREETS = ["rue Victor Hugo", "rue Jean Jaurès", "avenue du Général de Gaulle",
                  "rue Émile Zola", "rue de la République", "rue Pasteur", "place de l'Église",
                  "rue des Écoles", "allée des Tilleuls", "impasse des Acacias", "rue du Moulin",
                  "chemin des Vignes", "rue de la Gare", "avenue de la Libération"]
TOWNS = [
    # (town, postcode, weight, local streets, share of apartment buildings)
    ("Tours", "37000", 30, ["rue Nationale", "boulevard Béranger", "rue Colbert", "rue de la Scellerie",
                             "boulevard Heurteloup", "rue Marceau", "place Plumereau", "rue Bretonneau"], 0.55),
    ("Tours", "37100", 14, ["avenue de l'Europe", "rue Daniel Mayer", "boulevard Abel Gance",
                             "rue de Suède", "rue Groison", "avenue Maginot"], 0.5),
    ("Tours", "37200", 16, ["avenue de Grammont", "rue de la Fuye", "boulevard Winston Churchill",
                             "rue Édouard Vaillant", "avenue de Lattre de Tassigny", "rue du Pas-Notre-Dame"], 0.5),
    ("Joué-lès-Tours", "37300", 12, ["rue de Chantepie", "boulevard Jean Jaurès", "rue Aristide Briand",
                                      "allée de la Rabière", "rue de Verdun"], 0.35),
    ("Saint-Cyr-sur-Loire", "37540", 6, ["quai de la Loire", "rue Bretonneau", "rue de la Mairie"], 0.2),
    ("Saint-Pierre-des-Corps", "37700", 6, ["rue Marcel Cachin", "avenue Jacques Duclos", "rue Gambetta"], 0.3),
    ("Chambray-lès-Tours", "37170", 5, ["avenue des Platanes", "rue de Cormery", "rue Hélène Boucher"], 0.2),
    ("Saint-Avertin", "37550", 4, ["rue de Cormery", "rue Jules Romains", "allée des Peupliers"], 0.15),
    ("La Riche", "37520", 3, ["rue du Prieuré", "rue Charles Gille"], 0.25),
    ("Fondettes", "37230", 3, ["rue Eugène Gouin", "route de Luynes"], 0.05),
    ("Amboise", "37400", 3, ["rue Nationale", "quai Charles Guinot", "rue Chaptal"], 0.15),
    ("Montlouis-sur-Loire", "37270", 2, ["rue de Tours", "rue Balzac"], 0.05),
    ("Chinon", "37500", 1, ["rue Voltaire", "rue du Commerce"], 0.05),
    ("Loches", "37600", 1, ["rue Picois", "rue de la Porte Poitevine"], 0.05),
]


def strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


def ascii_login_part(s):
    s = strip_accents(s).lower()
    return "".join(c for c in s if c.isalnum())


def variant_family(rng, fam):
    """How another system might store the same surname (case, accents, spacing)."""
    r = rng.random()
    if r < 0.45:
        return fam.upper()
    if r < 0.60:
        return strip_accents(fam).upper()
    if r < 0.70:
        return strip_accents(fam)
    if r < 0.76 and " " in fam:
        return fam.replace(" ", "")
    if r < 0.80:
        return " " + fam + " "
    return fam


def variant_given(rng, given):
    r = rng.random()
    if r < 0.25:
        return strip_accents(given)
    if r < 0.35 and "-" in given:
        return given.replace("-", " ")
    if r < 0.42:
        return given.upper()
    if r < 0.47 and "-" in given:
        return given.replace("-", "  ")
    return given


def variant_line(rng, line):
    r = rng.random()
    if r < 0.30:
        return line.upper()
    if r < 0.42:
        return strip_accents(line)
    if r < 0.52:
        num, rest = line.split(" ", 1)
        return num + ", " + rest
    if r < 0.58:
        return line.replace(" ", "  ", 1)
    return line


def variant_city(rng, city):
    r = rng.random()
    if r < 0.4:
        return city.upper()
    if r < 0.55:
        return strip_accents(city).upper()
    return city
