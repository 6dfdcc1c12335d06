"""The CycleGAN releases by name, kept free of heavy imports so that listing them stays fast."""

# name -> what domains A and B hold (the name says A2B)
RELEASES: dict[str, str] = {
    "apple2orange": "CycleGAN release: apples <-> oranges (ImageNet photos), 256x256",
    "horse2zebra": "CycleGAN release: horses <-> zebras (ImageNet photos), 256x256",
    "summer2winter_yosemite": "CycleGAN release: Yosemite in summer <-> in winter (Flickr photos), 256x256",
    "monet2photo": "CycleGAN release: Monet paintings <-> landscape photos, 256x256",
    "cezanne2photo": "CycleGAN release: Cezanne paintings <-> landscape photos, 256x256",
    "ukiyoe2photo": "CycleGAN release: Ukiyo-e prints <-> landscape photos, 256x256",
    "vangogh2photo": "CycleGAN release: Van Gogh paintings <-> landscape photos, 256x256",
    "iphone2dslr_flower": "CycleGAN release: iPhone <-> DSLR flower photos (shallow depth of field), 256x256",
    "maps": "CycleGAN release: aerial photos <-> Google Maps renderings, 256x256",
    "facades": "CycleGAN release: CMP building facades <-> their label maps, 256x256",
}
