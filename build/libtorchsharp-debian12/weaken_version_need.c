/* Marks one symbol-version requirement of an ELF64 shared library as weak (VER_FLG_WEAK), so the
 * dynamic loader no longer refuses the library when the host lacks that version, and makes one
 * symbol unversioned (VER_NDX_GLOBAL), so any loaded library may supply it.
 * Usage: weaken_version_need FILE VERSION SYMBOL   (edits FILE in place; exit 1 with a message on error) */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *image;
static long image_size;

static void fail(const char *what) { fprintf(stderr, "weaken_version_need: %s\n", what); exit(1); }

static void *at(Elf64_Off offset, Elf64_Xword size)
{
    if (offset > (Elf64_Off)image_size || size > (Elf64_Xword)image_size - offset) fail("offset outside the file");
    return image + offset;
}

static const char *string_at(const Elf64_Shdr *strtab, Elf64_Word index)
{
    if (index >= strtab->sh_size) fail("string index outside the string table");
    const char *s = (const char *)at(strtab->sh_offset, strtab->sh_size) + index;
    if (!memchr(s, 0, strtab->sh_size - index)) fail("unterminated string");
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 4) fail("usage: weaken_version_need FILE VERSION SYMBOL");
    FILE *f = fopen(argv[1], "r+b");
    if (!f) fail("cannot open the file");
    fseek(f, 0, SEEK_END);
    image_size = ftell(f);
    rewind(f);
    image = malloc(image_size);
    if (!image || fread(image, 1, image_size, f) != (size_t)image_size) fail("cannot read the file");

    Elf64_Ehdr *eh = at(0, sizeof *eh);
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
        fail("not a little-endian ELF64 file");
    if (eh->e_shentsize != sizeof(Elf64_Shdr)) fail("unexpected section header size");
    Elf64_Shdr *sections = at(eh->e_shoff, (Elf64_Xword)eh->e_shnum * sizeof(Elf64_Shdr));
    Elf64_Shdr *verneed = NULL, *versym = NULL, *dynsym = NULL;
    for (int i = 0; i < eh->e_shnum; i++)
    {
        if (sections[i].sh_type == SHT_GNU_verneed) verneed = &sections[i];
        if (sections[i].sh_type == SHT_GNU_versym) versym = &sections[i];
        if (sections[i].sh_type == SHT_DYNSYM) dynsym = &sections[i];
    }
    if (!verneed || !versym || !dynsym) fail("no version-need, version-symbol or dynamic-symbol section");
    if (verneed->sh_link >= eh->e_shnum || dynsym->sh_link >= eh->e_shnum) fail("bad string table link");

    int weakened = 0;
    Elf64_Off need_off = verneed->sh_offset;
    for (Elf64_Word n = 0; n < verneed->sh_info; n++)
    {
        Elf64_Verneed *vn = at(need_off, sizeof *vn);
        Elf64_Off aux_off = need_off + vn->vn_aux;
        for (int a = 0; a < vn->vn_cnt; a++)
        {
            Elf64_Vernaux *va = at(aux_off, sizeof *va);
            if (!strcmp(string_at(&sections[verneed->sh_link], va->vna_name), argv[2]))
            {
                va->vna_flags |= VER_FLG_WEAK;
                weakened++;
            }
            aux_off += va->vna_next;
        }
        need_off += vn->vn_next;
    }

    int cleared = 0;
    Elf64_Xword count = dynsym->sh_size / sizeof(Elf64_Sym);
    Elf64_Sym *symbols = at(dynsym->sh_offset, dynsym->sh_size);
    Elf64_Half *versions = at(versym->sh_offset, count * sizeof(Elf64_Half));
    for (Elf64_Xword i = 0; i < count; i++)
        if (!strcmp(string_at(&sections[dynsym->sh_link], symbols[i].st_name), argv[3]))
        {
            versions[i] = VER_NDX_GLOBAL;
            cleared++;
        }

    if (weakened == 0) fail("the file does not require that version");
    if (cleared == 0) fail("the file has no such dynamic symbol");
    rewind(f);
    if (fwrite(image, 1, image_size, f) != (size_t)image_size || fclose(f) != 0) fail("cannot write the file");
    return 0;
}
